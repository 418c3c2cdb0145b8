/**
 * What the agent costs, per collector: CPU time (its own, measured around each run, and its
 * children's: short commands it waited for and long-running ones such as bpftrace), and the
 * records and bytes it shipped. Reported as 'agent-cost' records, so the cost of a level sits
 * next to what the level collects.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports process times in USER_HZ ticks, 100 a second on every architecture it runs on. */
export const TICKS_PER_SECOND = 100;
const US_PER_TICK = 1e6 / TICKS_PER_SECOND;

export interface ProcTimes {
  utime: number;
  stime: number;
  /** Children that were waited for. */
  cutime: number;
  cstime: number;
}

/** /proc/PID/stat: fields after the parenthesised command name (which may hold spaces). */
export function parseProcStat(text: string): ProcTimes | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const f = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // f[0] is field 3 (state): utime is field 14.
  const n = (i: number) => Number(f[i - 3]);
  const t = { utime: n(14), stime: n(15), cutime: n(16), cstime: n(17) };
  return Object.values(t).every(Number.isFinite) ? t : null;
}

export interface CpuReader {
  /** This process's CPU time (user + system), µs. */
  self(): number;
  /** CPU of the children this process has waited for, µs. */
  reaped(): number;
  /** A live process's CPU including its waited-for children, µs; null when it is gone. */
  pid(pid: number): number | null;
  /**
   * Time the kernel spent running the eBPF programs a process holds, µs: what tracing costs the
   * traced processes, beyond the tracer's own CPU. Counted only while `kernel.bpf_stats_enabled`
   * is 1 (else 0); null when the process is gone.
   */
  bpf?(pid: number): number | null;
}

/** `run_time_ns` of an fdinfo that is a BPF program's; null for any other descriptor. */
export function parseBpfRunNs(fdinfo: string): number | null {
  if (!/^prog_type:/m.test(fdinfo)) return null;
  const m = /^run_time_ns:\s*(\d+)/m.exec(fdinfo);
  return m ? Number(m[1]) : null;
}

const procTimes = (pid: number | 'self'): ProcTimes | null => {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
};

export const realCpuReader: CpuReader = {
  self: () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  },
  reaped: () => {
    const t = procTimes('self');
    return t ? (t.cutime + t.cstime) * US_PER_TICK : 0;
  },
  pid: (pid) => {
    const t = procTimes(pid);
    return t ? (t.utime + t.stime + t.cutime + t.cstime) * US_PER_TICK : null;
  },
  bpf: (pid) => {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fdinfo`);
    } catch {
      return null;
    }
    let ns = 0;
    for (const fd of fds) {
      try {
        ns += parseBpfRunNs(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8')) ?? 0;
      } catch {
        /* closed meanwhile */
      }
    }
    return ns / 1000;
  },
};

interface Window {
  start: number;
  runs: number;
  selfUs: number;
  childUs: number;
  kernelUs: number;
  records: number;
  bytes: number;
  errors: string[];
}

export interface CostReport {
  collector: string;
  level: number;
  periodMs: number;
  windowMs: number;
  runs: number;
  cpuMs: number;
  childCpuMs: number;
  /** (own + children's CPU) / window, in percent of one core. */
  cpuPercent: number;
  /** eBPF programs' run time in the traced processes (only with kernel.bpf_stats_enabled=1). */
  kernelCpuMs?: number;
  records: number;
  bytes: number;
  recordsPerSec: number;
  bytesPerSec: number;
  errors?: string[];
}

const MAX_ERRORS = 10;
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

export class CostMeter {
  private readonly windows = new Map<string, Window>();
  private readonly childSeen = new Map<number, { name: string; total: number; bpf: number }>();
  /**
   * CPU of sampled children that have ended: once reaped it shows again among the waited-for
   * children's time, where it must not be counted a second time.
   */
  private reapedCredit = 0;
  private busy: string | null = null;
  /** CPU charged to another collector while a run was being measured: not the run's. */
  private credit = 0;
  /** Everything charged to runs so far (own CPU, waited-for children): the rest is the agent's. */
  private chargedSelf = 0;
  private chargedReaped = 0;
  private residualBase: { self: number; reaped: number; chargedSelf: number; chargedReaped: number } | null = null;

  constructor(
    private readonly cpu: CpuReader,
    private readonly now: () => number,
  ) {}

  private window(name: string): Window {
    const w = this.windows.get(name) ?? {
      start: this.now(),
      runs: 0,
      selfUs: 0,
      childUs: 0,
      kernelUs: 0,
      records: 0,
      bytes: 0,
      errors: [],
    };
    this.windows.set(name, w);
    return w;
  }

  /**
   * Runs `fn` and charges the CPU used meanwhile to `name`. Runs are measured one at a time
   * (the agent runs collectors in turn), so what the process and its waited-for children used
   * in between is this run's.
   */
  async measure<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (this.busy !== null) throw new Error(`CostMeter.measure(${name}) while measuring ${this.busy}: runs must be serialized`);
    this.busy = name;
    this.credit = 0;
    // A collector's first window starts with its first run, not after it: a run charged to a
    // window of a few milliseconds would report thousands of percent of a core.
    this.window(name);
    const self0 = this.cpu.self();
    const reaped0 = this.cpu.reaped();
    try {
      return await fn();
    } finally {
      this.busy = null;
      const w = this.window(name);
      w.runs++;
      const selfUs = Math.max(0, this.cpu.self() - self0 - this.credit);
      const reapedUs = this.takeCredit(Math.max(0, this.cpu.reaped() - reaped0));
      w.selfUs += selfUs;
      w.childUs += reapedUs;
      this.chargedSelf += selfUs;
      this.chargedReaped += reapedUs;
    }
  }

  private takeCredit(reapedUs: number): number {
    const c = Math.min(reapedUs, this.reapedCredit);
    this.reapedCredit -= c;
    return reapedUs - c;
  }

  /**
   * CPU of `name`'s long-running children since they were last sampled (from their start, the
   * first time). Children of `name` sampled before and not listed now have ended.
   */
  sampleChildren(name: string, pids: number[]): void {
    const w = this.window(name);
    for (const pid of pids) {
      const total = this.cpu.pid(pid);
      if (total === null) continue;
      const seen = this.childSeen.get(pid);
      w.childUs += Math.max(0, total - (seen?.total ?? 0));
      const bpf = this.cpu.bpf?.(pid) ?? 0;
      w.kernelUs += Math.max(0, bpf - (seen?.bpf ?? 0));
      this.childSeen.set(pid, { name, total, bpf });
    }
    for (const [pid, seen] of this.childSeen)
      if (seen.name === name && !pids.includes(pid)) {
        this.reapedCredit += seen.total;
        this.childSeen.delete(pid);
      }
  }

  /** CPU spent for `name` outside its runs (reading a child's output as it arrives). */
  addSelfCpu(name: string, us: number): void {
    this.window(name).selfUs += us;
    this.chargedSelf += us;
    if (this.busy !== null && this.busy !== name) this.credit += us;
  }

  shipped(name: string, records: number, bytes: number): void {
    const w = this.window(name);
    w.records += records;
    w.bytes += bytes;
  }

  error(name: string, messages: string[]): void {
    const w = this.window(name);
    for (const m of messages) if (w.errors.length < MAX_ERRORS) w.errors.push(m);
  }

  /** The window's report, and a new window from now. */
  report(name: string, level: number, periodMs: number): CostReport {
    const w = this.window(name);
    const now = this.now();
    const windowMs = Math.max(1, now - w.start);
    this.windows.set(name, { start: now, runs: 0, selfUs: 0, childUs: 0, kernelUs: 0, records: 0, bytes: 0, errors: [] });
    return {
      collector: name,
      level,
      periodMs,
      windowMs,
      runs: w.runs,
      cpuMs: round(w.selfUs / 1000),
      childCpuMs: round(w.childUs / 1000),
      cpuPercent: round(((w.selfUs + w.childUs) / 1000 / windowMs) * 100, 4),
      ...(w.kernelUs > 0 ? { kernelCpuMs: round(w.kernelUs / 1000) } : {}),
      records: w.records,
      bytes: w.bytes,
      recordsPerSec: round((w.records * 1000) / windowMs, 2),
      bytesPerSec: round((w.bytes * 1000) / windowMs, 1),
      ...(w.errors.length ? { errors: w.errors } : {}),
    };
  }

  /**
   * The report of what no run was charged with — shipping, control, timers, garbage
   * collection — as `name`: with the runs' reports it adds up to the whole process.
   */
  residualReport(name: string, level: number, periodMs: number): CostReport {
    const base = this.residualBase ?? { self: 0, reaped: 0, chargedSelf: 0, chargedReaped: 0 };
    const now = { self: this.cpu.self(), reaped: this.cpu.reaped(), chargedSelf: this.chargedSelf, chargedReaped: this.chargedReaped };
    this.residualBase = now;
    const w = this.window(name);
    w.selfUs += Math.max(0, now.self - base.self - (now.chargedSelf - base.chargedSelf));
    w.childUs += this.takeCredit(Math.max(0, now.reaped - base.reaped - (now.chargedReaped - base.chargedReaped)));
    return this.report(name, level, periodMs);
  }

  /** Starts the residual window now (what happened before the agent started is not its cost). */
  startResidual(name: string): void {
    this.residualBase = {
      self: this.cpu.self(),
      reaped: this.cpu.reaped(),
      chargedSelf: this.chargedSelf,
      chargedReaped: this.chargedReaped,
    };
    this.window(name);
  }

  /** Forgets a collector's window (it was switched off and its last report sent). */
  reset(name: string): void {
    this.windows.delete(name);
  }
}
