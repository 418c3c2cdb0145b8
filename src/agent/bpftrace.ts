/**
 * The eBPF program of level 4, as a bpftrace script, and the reading of its JSON output
 * (`bpftrace -f json`). System calls are attributed to instances by the inode of the network
 * namespace of the task that makes them (`curtask->nsproxy->net_ns->ns.inum`): one tracepoint
 * for every system call, counted in kernel per (namespace, syscall number) and printed once a
 * period; executions and outgoing TCP connects as they happen (connects counted per period
 * and destination, so a busy client costs one line a period, not one per connect). Only
 * tracepoints: this kernel has no kprobes.
 */

/** What the kernel calls the current task's network namespace. */
const NETNS = 'curtask->nsproxy->net_ns->ns.inum';
/** TCP_CLOSE → TCP_SYN_SENT is connect(2) on a TCP socket; AF_INET only (the local cloud is IPv4). */
const CONNECT_FILTER = 'args->oldstate == 7 && args->newstate == 2 && args->family == 2';

export function bpftraceScript(inodes: number[], periodMs: number): string {
  const watch = inodes.map((i) => `@watch[${i}] = 1;`).join(' ');
  const mine = `@watch[${NETNS}]`;
  return [
    `BEGIN { ${watch} }`,
    `tracepoint:raw_syscalls:sys_enter /${mine}/ { @sys[${NETNS}, args->id] = count(); }`,
    `tracepoint:sched:sched_process_exec /${mine}/ { printf("exec %u %d %s\\n", ${NETNS}, pid, str(args->filename)); }`,
    `tracepoint:sock:inet_sock_set_state /${CONNECT_FILTER} && ${mine}/ { @connect[${NETNS}, comm, ntop(args->daddr), args->dport] = count(); }`,
    `interval:ms:${Math.max(100, Math.round(periodMs))} { print(@sys); clear(@sys); print(@connect); clear(@connect); }`,
    `END { clear(@watch); clear(@sys); clear(@connect); }`,
    '',
  ].join('\n');
}

export type TraceEvent =
  | { type: 'attached'; probes: number }
  | { type: 'exec'; inum: number; pid: number; filename: string }
  | { type: 'syscalls'; counts: Map<number, Map<number, number>> }
  | { type: 'connects'; list: { inum: number; comm: string; daddr: string; dport: number; count: number }[] }
  | { type: 'lost'; count: number };

/** One line of `bpftrace -f json`; null for lines that say nothing the agent uses (empty maps print blank lines). */
export function parseTraceLine(line: string): TraceEvent | null {
  const t = line.trim();
  if (!t.startsWith('{')) return null;
  let msg: { type?: string; data?: any };
  try {
    msg = JSON.parse(t);
  } catch {
    return null;
  }
  switch (msg.type) {
    case 'attached_probes':
      return { type: 'attached', probes: Number(msg.data?.probes ?? 0) };
    case 'lost_events':
      return { type: 'lost', count: Number(msg.data?.events ?? 0) };
    case 'printf': {
      const m = /^exec (\d+) (\d+) (.*)\n?$/s.exec(String(msg.data ?? ''));
      return m ? { type: 'exec', inum: Number(m[1]), pid: Number(m[2]), filename: m[3].replace(/\n$/, '') } : null;
    }
    case 'map': {
      const data = (msg.data ?? {}) as Record<string, Record<string, number>>;
      if (data['@sys']) {
        const counts = new Map<number, Map<number, number>>();
        for (const [key, n] of Object.entries(data['@sys'])) {
          const [inum, id] = key.split(',').map(Number);
          const per = counts.get(inum) ?? new Map<number, number>();
          counts.set(inum, per);
          per.set(id, (per.get(id) ?? 0) + n);
        }
        return { type: 'syscalls', counts };
      }
      if (data['@connect']) {
        const list = Object.entries(data['@connect']).map(([key, count]) => {
          // The command name may hold commas; the namespace leads and address and port close the key.
          const parts = key.split(',');
          const dport = Number(parts.pop());
          const daddr = parts.pop() ?? '';
          const inum = Number(parts.shift());
          return { inum, comm: parts.join(','), daddr, dport, count };
        });
        return { type: 'connects', list };
      }
      return null;
    }
    default:
      return null;
  }
}

/** `#define __NR_read 0` lines of the kernel's unistd header: syscall number → name. */
export function parseSyscallTable(header: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const m of header.matchAll(/^#define __NR_(\w+)\s+(\d+)\s*$/gm)) out.set(Number(m[2]), m[1]);
  return out;
}
