import { isProtocol, ProtocolSniffer, serviceName, type Detection } from '../detect/index.js';
import type { StreamParser } from '../stream/index.js';
import type { AnalyzerKind } from './analyzer-choice.js';
import type { AnalyzerEnv } from './analyzer-env.js';
import type { ConnSession } from './conn-session.js';

/** Builds the analyzer of a protocol for a connection (one function per engine). */
export type AnalyzerFactory = (kind: AnalyzerKind, s: ConnSession) => StreamParser;

/** Model protocols the signatures recognise: on their ports, bytes matching none of them are a mismatch too. */
const RECOGNISED: ReadonlySet<string> = new Set(['http', 'postgres', 'nats']);

/**
 * A TCP connection's analyzer, chosen by its first bytes. The port's protocol (the model's, or a
 * well-known port's) is only a hint: it is kept when the bytes confirm it or match nothing known,
 * and replaced when they are another protocol's. Bytes are held until the first ones decide
 * (usually the first segment does) and then replayed, so the chosen analyzer sees the stream
 * from its start. When the model promises the port to a protocol and the bytes are another (or
 * none that the signatures know), the policies hear of it once: traffic under another protocol
 * would escape the checks meant for that port.
 */
export class ContentAnalyzer implements StreamParser {
  private inner: StreamParser | null = null;
  /** Created with the first byte (a connection without data, a SYN flood's, costs nothing more); null once decided. */
  private sniffer: ProtocolSniffer | null | undefined = undefined;

  constructor(
    private readonly s: ConnSession,
    private readonly env: AnalyzerEnv,
    private readonly hint: AnalyzerKind | null,
    private readonly make: AnalyzerFactory,
    /** The connection: its history tells whether its start was captured (not picked up mid-stream). */
    private readonly conn: { readonly history: string },
  ) {}

  data(dir: 0 | 1, buf: Uint8Array, off: number, len: number, ts: number): void {
    let sniffer = this.sniffer;
    if (sniffer === undefined) sniffer = this.sniffer = new ProtocolSniffer(this.hint !== null);
    if (sniffer !== null) {
      const v = sniffer.feed(dir, buf, off, len, ts);
      if (v === 'undecided') return;
      this.decide(sniffer, v, ts);
    }
    this.inner?.data(dir, buf, off, len, ts);
  }

  gap(dir: 0 | 1, len: number): void {
    let sniffer = this.sniffer;
    if (sniffer === undefined) sniffer = this.sniffer = new ProtocolSniffer(this.hint !== null);
    if (sniffer === null) {
      this.inner?.gap(dir, len);
      return;
    }
    // Held with the bytes before it and replayed in its place.
    const v = sniffer.gap(dir, len, 0);
    if (v !== 'undecided') this.decide(sniffer, v, 0);
  }

  end(ts: number): void {
    const sniffer = this.sniffer;
    // Too few bytes to judge: the port's analyzer gets them, and the port no verdict.
    if (sniffer) this.decide(sniffer, sniffer.detection, ts);
    this.sniffer = null;
    this.inner?.end(ts);
    this.inner = null;
  }

  private decide(sniffer: ProtocolSniffer, v: Detection, ts: number): void {
    this.sniffer = null;
    let kind = this.hint;
    if (isProtocol(v)) {
      this.s.service = serviceName(v);
      kind = v === 'tls' ? null : v;
    }
    if (v !== 'undecided' && !(v === 'none' && sniffer.blind)) this.checkPromise(v, ts);
    if (kind === null) return;
    this.inner = this.make(kind, this.s);
    sniffer.replay(this.inner);
  }

  private checkPromise(v: Detection, ts: number): void {
    const ctx = this.s.ctx;
    const promised = ctx?.port?.app;
    if (!ctx || promised === undefined || promised === 'other') return;
    const seen = isProtocol(v) ? v : RECOGNISED.has(promised) ? 'unknown' : null;
    if (seen === null || seen === promised || !startSeen(this.conn.history)) return;
    this.env.policy.protocolMismatch(ctx, ts, promised, seen);
    // Another protocol's analyzer would read these bytes happily: the weird is what makes an
    // inline gate block them. Unknown bytes stay with the port's parser, which reports its own.
    if (seen !== 'unknown') this.env.weird(this.s, 'protocol_mismatch', `port promises ${promised}, first bytes are ${seen}`, ts, 'DETECT');
  }
}

/** Zeek history: `S` the originator's SYN, `h` the responder's SYN-ACK; a pickup mid-stream has neither. */
function startSeen(history: string): boolean {
  return history.includes('S') || history.includes('h');
}
