import { u16, u32 } from './byte-order.js';
import { FRAME_FATAL, type RecordFormat, type RecordSink } from './record-format.js';

const GLOBAL_HEADER = 24;

export interface PcapMagic {
  le: boolean;
  nano: boolean;
  /** Kuznetzov's patched format carries 8 extra bytes per record header. */
  modified: boolean;
}

/** Recognise the classic pcap magic number in the first four bytes. */
export function pcapMagic(b: Uint8Array, off: number): PcapMagic | null {
  const le = u32(b, off, true);
  switch (le) {
    case 0xa1b2c3d4:
      return { le: true, nano: false, modified: false };
    case 0xa1b23c4d:
      return { le: true, nano: true, modified: false };
    case 0xa1b2cd34:
      return { le: true, nano: false, modified: true };
  }
  switch (u32(b, off, false)) {
    case 0xa1b2c3d4:
      return { le: false, nano: false, modified: false };
    case 0xa1b23c4d:
      return { le: false, nano: true, modified: false };
    case 0xa1b2cd34:
      return { le: false, nano: false, modified: true };
  }
  return null;
}

/** Classic libpcap files: one global header, then (header, bytes) records. */
export class PcapFormat implements RecordFormat {
  readonly skippable = false;
  private haveHeader = false;
  private le = true;
  private divisor = 1e6;
  private recordHeader = 16;
  private linktype = 1;

  constructor(
    private readonly sink: RecordSink,
    private readonly maxCaplen: number,
  ) {}

  frame(b: Uint8Array, off: number, avail: number): number {
    if (!this.haveHeader) return GLOBAL_HEADER;
    const hdr = this.recordHeader;
    if (avail < hdr) return hdr;
    const incl = u32(b, off + 8, this.le);
    if (incl > this.maxCaplen) {
      this.sink.fatal(
        'E_PCAP_CAPLEN',
        `record header claims ${incl} captured bytes, more than the limit of ${this.maxCaplen}: the file is corrupt from here on`,
        this.sink.nextIndex,
      );
      return FRAME_FATAL;
    }
    return hdr + incl;
  }

  consume(b: Uint8Array, off: number, len: number): void {
    if (!this.haveHeader) {
      this.readGlobalHeader(b, off);
      return;
    }
    const le = this.le;
    const hdr = this.recordHeader;
    const incl = len - hdr;
    let orig = u32(b, off + 12, le);
    if (orig < incl) {
      this.sink.error('E_PCAP_ORIGLEN', `original length ${orig} is smaller than captured length ${incl}`, this.sink.nextIndex);
      orig = incl;
    }
    const ts = u32(b, off, le) + u32(b, off + 4, le) / this.divisor;
    this.sink.emit(ts, this.linktype, b, off + hdr, incl, orig, 0);
  }

  private readGlobalHeader(b: Uint8Array, off: number): void {
    const magic = pcapMagic(b, off);
    // The reader only picks this format after seeing a pcap magic.
    if (!magic) return;
    this.le = magic.le;
    this.divisor = magic.nano ? 1e9 : 1e6;
    this.recordHeader = magic.modified ? 24 : 16;
    const major = u16(b, off + 4, magic.le);
    if (major !== 2) this.sink.error('E_PCAP_VERSION', `unexpected pcap version ${major}.${u16(b, off + 6, magic.le)}; reading as 2.4`);
    // The upper bits of the link-type field carry FCS information, not the type.
    this.linktype = u32(b, off + 20, magic.le) & 0x0fffffff;
    this.haveHeader = true;
  }
}
