import type { DecodeStats } from './decode-stats.js';

const MAX_DATAGRAM = 65535;

interface Datagram {
  firstTs: number;
  buf: Uint8Array;
  /** Received byte ranges as sorted, disjoint [start, end) pairs, flattened. */
  ranges: number[];
  /** Payload length, known once the last fragment (MF clear) arrived; -1 before. */
  total: number;
  /** Protocol / IPv6 next header carried by the fragment at offset 0; -1 until seen. */
  proto: number;
}

export interface FragmentTableOptions {
  /** Datagrams held at once (default 1024); the oldest is dropped when full. */
  maxDatagrams?: number;
  /** Seconds an incomplete datagram is kept (default 30). */
  timeout?: number;
}

/** The result of adding a fragment: null while incomplete or when the fragment was bad. */
export interface Reassembled {
  payload: Uint8Array;
  proto: number;
}

/**
 * Bounded IP fragment reassembly (IPv4 and IPv6 alike; the caller builds the key).
 * Overlaps keep the bytes received first, so a later fragment cannot rewrite what an
 * earlier one said; differing overlaps are counted as a likely evasion attempt.
 */
export class FragmentTable {
  private readonly table = new Map<string, Datagram>();
  private readonly maxDatagrams: number;
  private readonly timeout: number;

  constructor(
    private readonly stats: DecodeStats,
    opts: FragmentTableOptions = {},
  ) {
    this.maxDatagrams = opts.maxDatagrams ?? 1024;
    this.timeout = opts.timeout ?? 30;
  }

  get size(): number {
    return this.table.size;
  }

  /**
   * Add fragment bytes `src[off, off+len)` at payload offset `fragOffset`.
   * `proto` is meaningful only for the fragment at offset 0.
   * Returns the whole payload when this fragment completed the datagram.
   */
  add(
    key: string,
    ts: number,
    fragOffset: number,
    more: boolean,
    proto: number,
    src: Uint8Array,
    off: number,
    len: number,
  ): Reassembled | null | 'bad' {
    this.expire(ts);
    const start = fragOffset;
    const end = fragOffset + len;
    if (end > MAX_DATAGRAM) {
      this.stats.frag_too_big++;
      this.table.delete(key);
      return 'bad';
    }
    if (more && len % 8 !== 0) {
      this.stats.bad_frag++;
      return 'bad';
    }
    let d = this.table.get(key);
    if (!d) {
      if (this.table.size >= this.maxDatagrams) {
        const oldest = this.table.keys().next().value;
        if (oldest !== undefined) this.table.delete(oldest);
        this.stats.frag_table_full++;
      }
      d = { firstTs: ts, buf: new Uint8Array(Math.max(end, 1536)), ranges: [], total: -1, proto: -1 };
      this.table.set(key, d);
    }
    this.stats.fragments++;
    if (!more) {
      if ((d.total >= 0 && d.total !== end) || this.highest(d) > end) {
        this.stats.bad_frag++;
        this.table.delete(key);
        return 'bad';
      }
      d.total = end;
    } else if (d.total >= 0 && end > d.total) {
      this.stats.bad_frag++;
      this.table.delete(key);
      return 'bad';
    }
    if (fragOffset === 0 && d.proto < 0) d.proto = proto;
    if (end > d.buf.length) {
      const grown = new Uint8Array(Math.min(MAX_DATAGRAM, Math.max(end, d.buf.length * 2)));
      grown.set(d.buf);
      d.buf = grown;
    }
    this.insert(d, start, end, src, off - start);
    if (d.total >= 0 && d.proto >= 0 && d.ranges.length === 2 && d.ranges[0] === 0 && d.ranges[1] === d.total) {
      this.table.delete(key);
      this.stats.reassembled++;
      return { payload: d.buf.subarray(0, d.total), proto: d.proto };
    }
    return null;
  }

  /** Drop datagrams older than the timeout. */
  expire(now: number): void {
    for (const [key, d] of this.table) {
      if (d.firstTs + this.timeout >= now) break;
      this.table.delete(key);
      this.stats.frag_timeout++;
    }
  }

  private highest(d: Datagram): number {
    return d.ranges.length ? d.ranges[d.ranges.length - 1] : 0;
  }

  /** Copy only the parts of [start, end) not yet held; `shift` maps payload offsets to `src` indexes. */
  private insert(d: Datagram, start: number, end: number, src: Uint8Array, shift: number): void {
    const r = d.ranges;
    let overlapped = false;
    let differs = false;
    let pos = start;
    for (let i = 0; i < r.length && pos < end; i += 2) {
      const rs = r[i];
      const re = r[i + 1];
      if (re <= pos) continue;
      if (rs >= end) break;
      if (rs > pos) d.buf.set(src.subarray(pos + shift, rs + shift), pos);
      const os = Math.max(rs, pos);
      const oe = Math.min(re, end);
      overlapped = true;
      if (!differs) {
        for (let k = os; k < oe; k++) {
          if (d.buf[k] !== src[k + shift]) {
            differs = true;
            break;
          }
        }
      }
      pos = oe;
    }
    if (pos < end) d.buf.set(src.subarray(pos + shift, end + shift), pos);
    if (overlapped) {
      this.stats.frag_overlap++;
      if (differs) this.stats.frag_overlap_differs++;
    }
    // Merge [start, end) into the range list.
    const merged: number[] = [];
    let ns = start;
    let ne = end;
    let placed = false;
    for (let i = 0; i < r.length; i += 2) {
      const rs = r[i];
      const re = r[i + 1];
      if (re < ns) merged.push(rs, re);
      else if (rs > ne) {
        if (!placed) {
          merged.push(ns, ne);
          placed = true;
        }
        merged.push(rs, re);
      } else {
        ns = Math.min(ns, rs);
        ne = Math.max(ne, re);
      }
    }
    if (!placed) merged.push(ns, ne);
    d.ranges = merged;
  }
}
