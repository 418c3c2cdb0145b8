/**
 * tcpdump's own counts, read from its stderr. It writes them on SIGUSR1 (Linux) as one line,
 * `tcpdump: 7 packets captured, 9 packets received by filter, 0 packets dropped by kernel`,
 * and when it exits as one line per count without the prefix. Both end with `, N packets
 * dropped by interface` (or such a line) only when that count is not zero, so the exit form is
 * complete only once the next line, or the end of the stream, shows that no such line follows.
 * The counts are cumulative since tcpdump started (libpcap's, 32-bit: they wrap).
 */

export interface CaptureCounts {
  /** Packets tcpdump handed over (wrote to its output). */
  captured: number;
  /** Packets that passed the filter (libpcap's ps_recv). */
  received: number;
  /** Packets the kernel dropped for want of buffer space (ps_drop). */
  dropped: number;
  /** Packets the interface dropped (ps_ifdrop; 0 when tcpdump does not say). */
  ifDropped: number;
}

const COUNT = (what: string) => new RegExp(`(\\d+) packets? ${what}`);
const CAPTURED = COUNT('captured');
const RECEIVED = COUNT('received by filter');
const KERNEL = COUNT('dropped by kernel');
const INTERFACE = COUNT('dropped by interface');
/** A line longer than this is not one of tcpdump's reports: it is dropped, not kept growing. */
const MAX_LINE = 1024;

const num = (m: RegExpExecArray | null): number | null => (m ? Number(m[1]) : null);

/** A complete report; `atExit`: the form tcpdump writes as it exits (one count a line). */
export interface TcpdumpReport {
  counts: CaptureCounts;
  atExit: boolean;
}

export class TcpdumpStatsParser {
  private partial = '';
  /** An exit-form report read up to its kernel drops, waiting to see whether interface drops follow. */
  private pending: CaptureCounts | null = null;
  /** An exit-form report being read, line by line. */
  private open: Partial<CaptureCounts> | null = null;

  /** Feeds stderr text; returns the reports it completed, in order. */
  push(text: string): TcpdumpReport[] {
    const out: TcpdumpReport[] = [];
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    if (this.partial.length > MAX_LINE) this.partial = '';
    for (const line of lines) this.line(line, out);
    return out;
  }

  /** The stream ended: a report still waiting is complete. */
  end(): TcpdumpReport[] {
    const out: TcpdumpReport[] = [];
    if (this.partial) this.line(this.partial, out);
    this.partial = '';
    this.settle(out);
    return out;
  }

  private settle(out: TcpdumpReport[]): void {
    if (this.pending) out.push({ counts: this.pending, atExit: true });
    this.pending = null;
  }

  private line(line: string, out: TcpdumpReport[]): void {
    const ifDropped = num(INTERFACE.exec(line));
    if (this.pending && ifDropped !== null && !CAPTURED.test(line)) {
      out.push({ counts: { ...this.pending, ifDropped }, atExit: true });
      this.pending = null;
      return;
    }
    this.settle(out);
    const captured = num(CAPTURED.exec(line));
    const received = num(RECEIVED.exec(line));
    const dropped = num(KERNEL.exec(line));
    if (captured !== null && received !== null && dropped !== null) {
      // The one-line (SIGUSR1) form: complete as it stands.
      this.open = null;
      out.push({ counts: { captured, received, dropped, ifDropped: ifDropped ?? 0 }, atExit: false });
      return;
    }
    if (captured !== null) this.open = { captured };
    else if (this.open && received !== null) this.open.received = received;
    else if (this.open && dropped !== null && this.open.received !== undefined) {
      this.pending = { captured: this.open.captured!, received: this.open.received, dropped, ifDropped: 0 };
      this.open = null;
    } else this.open = null;
  }
}

/** `b - a` for libpcap's 32-bit counters: a smaller `b` has wrapped (or belongs to a new capture). */
export function countDelta(a: number, b: number): number {
  return b >= a ? b - a : b + 2 ** 32 - a;
}
