import { NoticeType, type ConnId, type NoticeSink } from './notice.js';
import { Suppressor } from './suppressor.js';

export interface SynFloodOptions {
  /** Half-open connections (S0, REJ, RSTOS0) from one source within `window` seconds that make a flood. */
  threshold: number;
  window: number;
  /** Also count half-open connections from all sources together against one service port. */
  overall: boolean;
  overallThreshold: number;
  /** Seconds before the same flood is reported again. */
  suppressFor: number;
  /** Sources × targets tracked at once. */
  maxKeys: number;
}

export const DEFAULT_SYN_FLOOD_OPTIONS: SynFloodOptions = {
  threshold: 100,
  window: 5,
  overall: true,
  overallThreshold: 500,
  suppressFor: 300,
  maxKeys: 50_000,
};

const HALF_OPEN = new Set(['S0', 'REJ', 'RSTOS0']);

/**
 * Whether a connection with Zeek conn_state `state` and `history` never completed its
 * handshake. Besides S0, REJ and RSTOS0: SYN, SYN-ACK, then the originator's RST with nothing
 * else (Zeek's RSTO with history ShR, what Zeek's scan policy counts as failed too). That is
 * what a SYN flood from a real address looks like when both directions are tapped: the
 * target answers each SYN and the flooder's kernel, which opened no socket, resets it.
 */
export function failedAttempt(state: string, history: string): boolean {
  return HALF_OPEN.has(state) || (state === 'RSTO' && /^\^?Sh[^AaDdFf]*R/.test(history));
}

/**
 * Events per one-second bucket for one key. Events may arrive out of time order (a SYN that
 * got no answer is only known when its attempt times out), so buckets are kept for twice the
 * window behind the newest one.
 */
class WindowCounter {
  private readonly buckets = new Map<number, number>();
  newest = -Infinity;

  /** Adds an event at `ts`; returns the events in the `window` seconds ending at its bucket. */
  add(ts: number, window: number): number {
    const w = Math.max(1, Math.ceil(window));
    const b = Math.floor(ts);
    this.buckets.set(b, (this.buckets.get(b) ?? 0) + 1);
    if (b > this.newest) this.newest = b;
    let sum = 0;
    for (const [k, v] of this.buckets) {
      if (k < this.newest - 2 * w) this.buckets.delete(k);
      else if (k > b - w && k <= b) sum += v;
    }
    return sum;
  }
}

export interface HalfOpenTarget {
  /** The service (or `external`) the target address belongs to, for the message. */
  service: string;
}

/**
 * SYN flood: many connections to one service port that never completed a handshake (Zeek
 * conn_state S0, REJ or RSTOS0), counted by the time they started, per source and (when
 * enabled) over all sources.
 */
export class SynFloodDetector {
  private readonly counters = new Map<string, WindowCounter>();
  private readonly suppressor = new Suppressor();
  halfOpen = 0;

  constructor(
    private readonly emit: NoticeSink,
    readonly opts: SynFloodOptions = DEFAULT_SYN_FLOOD_OPTIONS,
  ) {}

  /** A connection closed with `state` (and `history`); `startTs` is when its first packet was seen. */
  closed(uid: string, id: ConnId, state: string, startTs: number, target: HalfOpenTarget, history = ''): void {
    if (id.proto !== 'tcp' || !failedAttempt(state, history)) return;
    this.halfOpen++;
    const dst = `${id.respH}:${id.respP}`;
    const perSource = this.count(`${id.origH}>${dst}`, startTs);
    if (perSource >= this.opts.threshold)
      this.raise(`${id.origH}>${dst}`, uid, id, perSource, this.opts.threshold, startTs, target, id.origH);
    if (this.opts.overall) {
      const all = this.count(`*>${dst}`, startTs);
      if (all >= this.opts.overallThreshold) this.raise(`*>${dst}`, uid, id, all, this.opts.overallThreshold, startTs, target, undefined);
    }
  }

  private count(key: string, ts: number): number {
    let c = this.counters.get(key);
    if (!c) {
      if (this.counters.size >= this.opts.maxKeys) this.evict(ts);
      c = new WindowCounter();
      this.counters.set(key, c);
    }
    return c.add(ts, this.opts.window);
  }

  private evict(ts: number): void {
    for (const [k, c] of this.counters) {
      if (c.newest < ts - this.opts.window - 1 || this.counters.size >= this.opts.maxKeys) this.counters.delete(k);
    }
  }

  private raise(
    key: string,
    uid: string,
    id: ConnId,
    n: number,
    threshold: number,
    ts: number,
    target: HalfOpenTarget,
    src: string | undefined,
  ): void {
    if (!this.suppressor.allow(key, ts, this.opts.suppressFor)) return;
    const from = src !== undefined ? `from ${src}` : 'from all sources';
    this.emit({
      ts,
      note: NoticeType.SYN_FLOOD,
      msg: `${n} half-open connections ${from} to ${target.service} ${id.respH}:${id.respP} within ${this.opts.window}s (threshold ${threshold})`,
      uid,
      id,
      src,
      dst: id.respH,
      p: id.respP,
      n,
      suppressFor: this.opts.suppressFor,
      evidence: {
        uids: [uid],
        src: src ?? '*',
        dst: `${target.service} ${id.respH}`,
        port: id.respP,
        window: this.opts.window,
        request: `${n} connection attempts without a completed handshake`,
        expected: `fewer than ${threshold} half-open connections (S0/REJ) in ${this.opts.window}s`,
        seen: `${n}`,
      },
    });
  }
}
