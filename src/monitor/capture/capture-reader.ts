import { diag, type Diagnostic, type DiagCode } from '../../diagnostics/index.js';
import type { CaptureStats, CaptureSummary, CapturedPacket, PacketCallback } from './captured-packet.js';
import { PcapFormat, pcapMagic } from './pcap-format.js';
import { PCAPNG_SHB, PcapngFormat } from './pcapng-format.js';
import { u32 } from './byte-order.js';
import { FRAME_FATAL, type RecordFormat, type RecordSink } from './record-format.js';

export interface CaptureReaderOptions {
  /** Names the input in diagnostics. */
  file?: string;
  /** Largest captured length accepted in a classic pcap record (default 262144, tcpdump's snaplen). */
  maxCaplen?: number;
  /** Largest pcapng block accepted (default 16 MiB). */
  maxBlock?: number;
  /** How many diagnostics to keep; every error is still counted (default 100). */
  maxDiagnostics?: number;
}

/**
 * A push parser for classic pcap and pcapng. Records that lie inside one chunk are handed
 * out as views of that chunk; only a record cut by a chunk boundary is copied (once) into a
 * carry buffer. Malformed input never throws: it is counted, and a record that breaks the
 * framing stops the reader with a diagnostic.
 */
export class CaptureReader implements RecordSink {
  readonly stats: CaptureStats = { format: 'unknown', packets: 0, bytes: 0, errors: 0, skippedBytes: 0, stopped: false };
  readonly diagnostics: Diagnostic[] = [];
  private fmt: RecordFormat | null = null;
  private carry = new Uint8Array(0);
  private carryLen = 0;
  private skipRemaining = 0;
  private index = 0;
  private ended = false;
  private readonly file: string | undefined;
  private readonly maxCaplen: number;
  private readonly maxBlock: number;
  private readonly maxDiagnostics: number;
  private readonly pkt: CapturedPacket = { ts: 0, linktype: 0, data: new Uint8Array(0), caplen: 0, origlen: 0, index: 0, interfaceId: 0 };

  constructor(
    private readonly onPacket: PacketCallback,
    opts: CaptureReaderOptions = {},
  ) {
    this.file = opts.file;
    this.maxCaplen = opts.maxCaplen ?? 262144;
    this.maxBlock = opts.maxBlock ?? 16 * 1024 * 1024;
    this.maxDiagnostics = opts.maxDiagnostics ?? 100;
  }

  get nextIndex(): number {
    return this.index + 1;
  }

  get stopped(): boolean {
    return this.stats.stopped;
  }

  push(chunk: Uint8Array): void {
    if (this.stats.stopped || this.ended) return;
    const n = chunk.length;
    let pos = this.discardPending(chunk, 0);
    if (this.carryLen > 0) {
      pos = this.completeCarry(chunk, pos);
      if (pos < 0 || this.stats.stopped) return;
    }
    while (pos < n) {
      const avail = n - pos;
      const need = this.frame(chunk, pos, avail);
      if (need === FRAME_FATAL) return;
      if (avail >= need) {
        this.fmt!.consume(chunk, pos, need);
        if (this.stats.stopped) return;
        pos += need;
        continue;
      }
      if (this.fmt?.skippable) {
        this.skipRemaining = need - avail;
        this.stats.skippedBytes += avail;
        return;
      }
      this.appendCarry(chunk, pos, avail);
      return;
    }
  }

  /** Signal the end of input; reports a record cut short. Returns the summary. */
  end(): CaptureSummary {
    if (!this.ended && !this.stats.stopped) {
      this.ended = true;
      if (this.fmt === null) {
        this.error(
          'E_CAPTURE_EMPTY',
          this.carryLen === 0
            ? 'the capture is empty'
            : `the capture ends after ${this.carryLen} bytes, before its file header is complete`,
        );
      } else if (this.carryLen > 0 || this.skipRemaining > 0) {
        this.error(
          'E_CAPTURE_TRUNCATED',
          `the capture ends inside a record (packet ${this.nextIndex}); the partial record is ignored`,
          this.nextIndex,
        );
      }
      this.carryLen = 0;
    }
    this.ended = true;
    return { stats: { ...this.stats }, diagnostics: [...this.diagnostics] };
  }

  // RecordSink

  emit(ts: number, linktype: number, buf: Uint8Array, off: number, caplen: number, origlen: number, interfaceId: number): void {
    const p = this.pkt;
    p.index = ++this.index;
    p.ts = ts;
    p.linktype = linktype;
    p.data = buf.subarray(off, off + caplen);
    p.caplen = caplen;
    p.origlen = origlen;
    p.interfaceId = interfaceId;
    this.stats.packets++;
    this.stats.bytes += caplen;
    this.onPacket(p);
  }

  dropPacket(code: DiagCode, message: string): void {
    this.error(code, message, ++this.index);
  }

  error(code: DiagCode, message: string, packet?: number): void {
    this.stats.errors++;
    if (this.diagnostics.length >= this.maxDiagnostics) return;
    const loc: { file?: string; packet?: number } = {};
    if (this.file !== undefined) loc.file = this.file;
    if (packet !== undefined) loc.packet = packet;
    this.diagnostics.push(diag(code, message, loc));
  }

  fatal(code: DiagCode, message: string, packet?: number): void {
    this.error(code, message, packet);
    this.stats.stopped = true;
    this.carryLen = 0;
  }

  // internals

  private frame(buf: Uint8Array, off: number, avail: number): number {
    if (this.fmt === null) {
      if (avail < 4) return 4;
      this.fmt = this.detect(buf, off);
      if (this.fmt === null) return FRAME_FATAL;
    }
    return this.fmt.frame(buf, off, avail);
  }

  private detect(buf: Uint8Array, off: number): RecordFormat | null {
    if (pcapMagic(buf, off)) {
      this.stats.format = 'pcap';
      return new PcapFormat(this, this.maxCaplen);
    }
    if (u32(buf, off, true) === PCAPNG_SHB) {
      this.stats.format = 'pcapng';
      return new PcapngFormat(this, this.maxBlock);
    }
    const hex = Array.from(buf.subarray(off, off + 4), (x) => x.toString(16).padStart(2, '0')).join(' ');
    this.fatal('E_CAPTURE_FORMAT', `not a pcap or pcapng file (starts with ${hex})`);
    return null;
  }

  private discardPending(chunk: Uint8Array, pos: number): number {
    if (this.skipRemaining === 0) return pos;
    const k = Math.min(this.skipRemaining, chunk.length - pos);
    this.skipRemaining -= k;
    this.stats.skippedBytes += k;
    return pos + k;
  }

  /** Fill the carry buffer until its record is whole and consume it; returns the new position, or -1 if more input is needed. */
  private completeCarry(chunk: Uint8Array, pos: number): number {
    const n = chunk.length;
    for (;;) {
      const need = this.frame(this.carry, 0, this.carryLen);
      if (need === FRAME_FATAL) return -1;
      if (this.carryLen >= need) {
        this.carryLen = 0;
        this.fmt!.consume(this.carry, 0, need);
        return pos;
      }
      if (this.fmt?.skippable) {
        this.skipRemaining = need - this.carryLen;
        this.stats.skippedBytes += this.carryLen;
        this.carryLen = 0;
        pos = this.discardPending(chunk, pos);
        return this.skipRemaining > 0 ? -1 : pos;
      }
      if (pos >= n) return -1;
      const take = Math.min(need - this.carryLen, n - pos);
      this.appendCarry(chunk, pos, take);
      pos += take;
    }
  }

  private appendCarry(src: Uint8Array, off: number, len: number): void {
    const needed = this.carryLen + len;
    if (needed > this.carry.length) {
      const grown = new Uint8Array(Math.max(needed, this.carry.length * 2, 4096));
      grown.set(this.carry.subarray(0, this.carryLen));
      this.carry = grown;
    }
    this.carry.set(src.subarray(off, off + len), this.carryLen);
    this.carryLen = needed;
  }
}

/** Parse a whole in-memory capture. */
export function readCaptureBuffer(bytes: Uint8Array, onPacket: PacketCallback, opts: CaptureReaderOptions = {}): CaptureSummary {
  const reader = new CaptureReader(onPacket, opts);
  reader.push(bytes);
  return reader.end();
}
