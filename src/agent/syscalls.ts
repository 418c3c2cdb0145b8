/**
 * Level 4: system calls per instance through eBPF. One long-running bpftrace child prints a
 * period's aggregates; the collector turns them into 'syscall' records: per instance the count
 * of every system call, each execution, and outgoing connects per destination. The child is
 * restarted when the period or the set of instances changes (its interval and filter are in
 * its program), never the agent.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Spawned, System } from '../system/index.js';
import { bpftraceScript, parseSyscallTable, parseTraceLine, type TraceEvent } from './bpftrace.js';
import type { Collector, CollectResult, Draft } from './collector.js';
import type { NetnsProbe } from './netns.js';
import type { InstanceSpec } from './options.js';
import type { CollectorSetting } from './settings.js';

const SYSCALL_HEADERS = [
  '/usr/include/x86_64-linux-gnu/asm/unistd_64.h',
  '/usr/include/asm/unistd_64.h',
  '/usr/include/asm-generic/unistd.h',
];
/** Events kept between two periods at most; past that they are counted, not kept. */
const MAX_PENDING = 20_000;
/** bpftrace warns that it cannot raise RLIMIT_MEMLOCK; with BPF memory accounting by cgroup that is harmless. */
const HARMLESS = /RLIMIT_MEMLOCK|ulimit -l/;

export function loadSyscallNames(paths: string[] = SYSCALL_HEADERS): Map<number, string> {
  for (const p of paths) {
    try {
      const t = parseSyscallTable(readFileSync(p, 'utf8'));
      if (t.size > 0) return t;
    } catch {
      /* try the next */
    }
  }
  return new Map();
}

/** Records of the events of one or more periods, attributed to instances by namespace inode. */
export function syscallDrafts(
  events: TraceEvent[],
  byInode: Map<number, InstanceSpec>,
  names: Map<number, string>,
  periodMs: number,
  now: number,
): Draft[] {
  const out: Draft[] = [];
  const about = (inum: number) => {
    const i = byInode.get(inum);
    return i ? { instance: i.name, service: i.service } : null;
  };
  for (const e of events) {
    if (e.type === 'exec') {
      const a = about(e.inum);
      if (a)
        out.push({ kind: 'syscall', ts: now, ...a, provenance: `pid:${e.pid}`, data: { event: 'exec', pid: e.pid, filename: e.filename } });
    } else if (e.type === 'connects') {
      for (const c of e.list) {
        const a = about(c.inum);
        if (a)
          out.push({
            kind: 'syscall',
            ts: now,
            ...a,
            provenance: `connect:${c.daddr}:${c.dport}`,
            data: { event: 'connect', comm: c.comm, daddr: c.daddr, dport: c.dport, count: c.count, periodMs },
          });
      }
    } else if (e.type === 'syscalls') {
      for (const [inum, per] of e.counts) {
        const a = about(inum);
        if (!a) continue;
        const sorted = [...per].sort((x, y) => y[1] - x[1]);
        const counts = Object.fromEntries(sorted.map(([id, n]) => [names.get(id) ?? `sys_${id}`, n]));
        const total = sorted.reduce((s, [, n]) => s + n, 0);
        out.push({ kind: 'syscall', ts: now, ...a, data: { event: 'counts', total, counts, periodMs } });
      }
    }
  }
  return out;
}

export interface SyscallsOptions {
  probe: NetnsProbe;
  /** Where tracefs belongs; bpftrace finds no tracepoint without it (default /sys/kernel/tracing). */
  tracefs?: string;
  syscallNames?: Map<number, string>;
  /** CPU spent reading bpftrace's output as it arrives (outside the collector's runs). */
  onHandlerCpu?: (us: number) => void;
  /** Called when a period's aggregates (or a new child's first event) arrived: collect now. */
  wake?: () => void;
}

export function syscallsCollector(system: System, instances: InstanceSpec[], o: SyscallsOptions): Collector {
  const names = o.syscallNames ?? loadSyscallNames();
  const tracefs = o.tracefs ?? '/sys/kernel/tracing';
  let child: Spawned | null = null;
  let running: { script: string; byInode: Map<number, InstanceSpec>; periodMs: number } | null = null;
  let wanted: CollectorSetting | null = null;
  let pending: TraceEvent[] = [];
  let errors: string[] = [];
  let overflow = 0;
  let lost = 0;
  let exited: string | null = null;

  const plan = (s: CollectorSetting) => {
    const byInode = new Map<number, InstanceSpec>();
    const missing: string[] = [];
    for (const i of instances) {
      if (s.instances && !s.instances.includes(i.name)) continue;
      const inum = o.probe.named(i.ns);
      if (inum === null) missing.push(i.name);
      else byInode.set(inum, i);
    }
    return { byInode, missing, script: bpftraceScript([...byInode.keys()], s.periodMs) };
  };

  const halt = async () => {
    const c = child;
    child = null;
    running = null;
    if (!c) return;
    c.kill('SIGTERM');
    await Promise.race([c.exited, new Promise((r) => setTimeout(r, 3000))]);
    c.kill('SIGKILL');
  };

  const launch = async (s: CollectorSetting) => {
    const p = plan(s);
    if (p.missing.length) errors.push(`no namespace for ${p.missing.join(', ')}: their system calls are not traced`);
    if (running && running.script === p.script && child) return;
    await halt();
    if (p.byInode.size === 0) return;
    if (!existsSync(`${tracefs}/events`)) {
      const m = await system.run(['mount', '-t', 'tracefs', 'nodev', tracefs]);
      if (m.code !== 0) errors.push(`cannot mount tracefs on ${tracefs}: ${m.stderr.trim()}`);
    }
    const c = system.spawn(['bpftrace', '-f', 'json', '-e', p.script], { stdout: true, stderr: true });
    child = c;
    running = { script: p.script, byInode: p.byInode, periodMs: s.periodMs };
    exited = null;
    let buf = '';
    let aggregates = false;
    let first = true;
    c.stdout?.setEncoding('utf8');
    c.stdout?.on('data', (chunk: string) => {
      const before = process.cpuUsage();
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) {
        const e = parseTraceLine(l);
        if (!e || e.type === 'attached') continue;
        if (e.type === 'lost') lost += e.count;
        else if (pending.length < MAX_PENDING) pending.push(e);
        else overflow++;
        // Aggregates, and the first event of a new child: the agent collects now rather than up
        // to a period later, so a raised level shows within a period of bpftrace being ready.
        if (e.type === 'syscalls' || first) aggregates = true;
        first = false;
      }
      const d = process.cpuUsage(before);
      o.onHandlerCpu?.(d.user + d.system);
      if (aggregates) {
        aggregates = false;
        o.wake?.();
      }
    });
    let stderr = '';
    c.stderr?.setEncoding('utf8');
    c.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    void c.exited.then((st) => {
      if (child !== c) return;
      const said = stderr
        .split('\n')
        .filter((l) => l.trim() && !HARMLESS.test(l))
        .join(' ')
        .slice(0, 500);
      exited = `bpftrace exited (${st.signal ?? `code ${st.code}`})${said ? `: ${said}` : ''}`;
      child = null;
    });
    const startError = await c.startError;
    if (startError) errors.push(`cannot start bpftrace: ${startError.message}`);
  };

  return {
    name: 'syscalls',
    async start(s) {
      wanted = s;
      await launch(s);
    },
    async update(s) {
      wanted = s;
      await launch(s);
    },
    async collect(s, now): Promise<CollectResult> {
      const byInode = running?.byInode ?? new Map();
      const events = pending;
      pending = [];
      const records = syscallDrafts(events, byInode, names, s.periodMs, now);
      if (exited) {
        errors.push(exited);
        exited = null;
      }
      // Once a period: restart a child that died (at most once a period, so a program the kernel
      // refuses cannot spin) and follow instances whose namespace appeared or was replaced.
      if (wanted) await launch(wanted);
      if (overflow) errors.push(`${overflow} events over the ${MAX_PENDING} kept between periods were dropped`);
      if (lost) errors.push(`bpftrace lost ${lost} events`);
      const out = { records, errors: [...new Set(errors)] };
      errors = [];
      overflow = 0;
      lost = 0;
      return out;
    },
    async stop() {
      wanted = null;
      await halt();
      pending = [];
    },
    childPids: () => (child?.pid !== undefined ? [child.pid] : []),
  };
}
