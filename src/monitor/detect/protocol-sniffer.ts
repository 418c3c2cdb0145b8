import type { StreamParser } from '../stream/index.js';
import { detectFirstBytes } from './first-bytes.js';
import type { Detection } from './protocol.js';
import { SNIFF_WINDOW } from './signature.js';

/**
 * Judges a connection's protocol from the first bytes of either direction, holding what arrives
 * until it can tell, so that the analyzer then chosen sees its stream from the start.
 *
 * A piece that settles the question is not held: the caller replays what was held, then passes
 * that piece on. A direction holds at most SNIFF_WINDOW bytes; bytes past them (a direction
 * already judged `none`, waiting for the other side) are replayed as a gap. The common case, a
 * first segment long enough to decide, copies nothing. Fields rather than per-direction arrays:
 * one of these exists per connection that carries data.
 */
export class ProtocolSniffer {
  private verdict: Detection = 'undecided';
  private verdict0: Detection = 'undecided';
  private verdict1: Detection = 'undecided';
  /** The first bytes of each direction, allocated only when a direction's first piece does not decide. */
  private held0: Uint8Array | null = null;
  private held1: Uint8Array | null = null;
  private used0 = 0;
  private used1 = 0;
  /** What was held, in arrival order: dir, length (negative: bytes dropped, replayed as a gap), ts. */
  private order: number[] | null = null;
  private lost = false;

  /**
   * @param eager decide `none` as soon as the originator's first bytes match nothing (a port
   *   already promises a protocol: its analyzer should not wait for the other side); otherwise
   *   wait for both. The responder's bytes alone never decide `none`: a tap may deliver the
   *   answer before the request (copies from two hooks), and a server's reply to a protocol the
   *   signatures know by its client (a PostgreSQL authentication request) matches nothing.
   */
  constructor(private readonly eager: boolean) {}

  get detection(): Detection {
    return this.verdict;
  }

  /**
   * True once bytes were lost before the verdict: a `none` then says nothing about the
   * connection's first bytes (they were not seen).
   */
  get blind(): boolean {
    return this.lost;
  }

  /** The next piece of direction `dir`; the connection's verdict after it. */
  feed(dir: 0 | 1, buf: Uint8Array, off: number, len: number, ts: number): Detection {
    if (this.verdict !== 'undecided' || len <= 0) return this.verdict;
    if ((dir === 0 ? this.verdict0 : this.verdict1) === 'undecided') {
      const used = dir === 0 ? this.used0 : this.used1;
      let v: Detection;
      if (used === 0) v = detectFirstBytes(dir, buf, off, len);
      else {
        const h = (dir === 0 ? this.held0 : this.held1)!;
        const add = Math.min(len, SNIFF_WINDOW - used);
        h.set(buf.subarray(off, off + add), used);
        v = detectFirstBytes(dir, h, 0, used + add);
      }
      if (dir === 0) this.verdict0 = v;
      else this.verdict1 = v;
      if (v !== 'undecided' && v !== 'none') {
        this.verdict = v;
        return v;
      }
      if (v === 'none' && ((this.eager && dir === 0) || (dir === 0 ? this.verdict1 : this.verdict0) === 'none')) {
        this.verdict = 'none';
        return 'none';
      }
    }
    this.hold(dir, buf, off, len, ts);
    return this.verdict;
  }

  /** `len` bytes of `dir` were lost: what follows is no longer a first byte. */
  gap(dir: 0 | 1, len: number, ts: number): Detection {
    if (this.verdict !== 'undecided') return this.verdict;
    this.record(dir, -len, ts);
    this.lost = true;
    if (dir === 0 && this.verdict0 === 'undecided') this.verdict0 = 'none';
    if (dir === 1 && this.verdict1 === 'undecided') this.verdict1 = 'none';
    if ((this.eager && this.verdict0 === 'none') || (this.verdict0 === 'none' && this.verdict1 === 'none')) this.verdict = 'none';
    return this.verdict;
  }

  /** Hands what was held to `to`, in the order it came, and forgets it. */
  replay(to: StreamParser): void {
    const order = this.order;
    this.order = null;
    if (!order) return;
    let pos0 = 0;
    let pos1 = 0;
    for (let i = 0; i < order.length; i += 3) {
      const dir = order[i] as 0 | 1;
      const n = order[i + 1];
      if (n < 0) to.gap(dir, -n);
      else if (dir === 0) {
        to.data(0, this.held0!, pos0, n, order[i + 2]);
        pos0 += n;
      } else {
        to.data(1, this.held1!, pos1, n, order[i + 2]);
        pos1 += n;
      }
    }
    this.held0 = this.held1 = null;
  }

  private hold(dir: 0 | 1, buf: Uint8Array, off: number, len: number, ts: number): void {
    const used = dir === 0 ? this.used0 : this.used1;
    const keep = Math.min(len, SNIFF_WINDOW - used);
    if (keep > 0) {
      let h = dir === 0 ? this.held0 : this.held1;
      if (h === null) {
        h = new Uint8Array(SNIFF_WINDOW);
        if (dir === 0) this.held0 = h;
        else this.held1 = h;
      }
      // feed() may have copied these bytes already to judge them; copying again is harmless.
      h.set(buf.subarray(off, off + keep), used);
      if (dir === 0) this.used0 = used + keep;
      else this.used1 = used + keep;
      this.record(dir, keep, ts);
    }
    if (len > keep) this.record(dir, keep - len, ts);
  }

  private record(dir: 0 | 1, n: number, ts: number): void {
    if (this.order === null) this.order = [];
    const order = this.order;
    const last = order.length - 3;
    // Consecutive gaps of one direction merge, so a long one-sided stream costs one entry.
    if (n < 0 && last >= 0 && order[last] === dir && order[last + 1] < 0) order[last + 1] += n;
    else order.push(dir, n, ts);
  }
}
