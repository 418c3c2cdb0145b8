import { diag, type Diagnostic } from '../../../diagnostics/index.js';
import { INLINE_TABLE, MONITOR_RETURN_IF, MONITOR_TAP_IF } from '../../../dataplane/index.js';
import type { System } from '../../../system/index.js';

/**
 * How a monitor namespace puts redirected frames before the monitor without holding them for a
 * retransmission (issue 13). nft's own `queue` statement is missing on this kernel, and the
 * netdev hook (where today's table judges) cannot queue; the xtables NFQUEUE target can, at the
 * IPv4 hooks. So the namespace's two veths become ports of a bridge, and bridge netfilter runs
 * the IPv4 FORWARD hook on what crosses it: a queued frame keeps its Ethernet header (the
 * redirect tag the node needs to take it back) and leaves by eth1 unchanged once accepted.
 *
 * - netdev ingress on eth0 (table `flowtap_queue`): copies (untagged) end here as before; a
 *   tagged frame gets the packet mark of its contract's failMode.
 * - iptables FORWARD, first: a server's replies (conntrack's REPLY direction of an established
 *   connection) are accepted in the kernel, and copied to the NFLOG group numbered like their
 *   queue for the monitor's logs. A verdict is only ever needed on what a client sends (the
 *   judge passes every server packet), and each queued packet costs a trip through the monitor
 *   process: replies were half of them, on the request's critical path. Loose pick-up of
 *   connections is off in the namespace (`nf_conntrack_tcp_loose=0`), so conntrack's originator
 *   is always the side that sent the SYN: a client cannot make its own packets a "reply" by
 *   showing up mid-stream, and whatever conntrack cannot place (mid-stream, out of window,
 *   invalid) still goes to the queue. `replies: 'queue'` queues them as before (bench/inline.ts
 *   measures both).
 * - iptables FORWARD: fail-open frames go to queue `open` with `--queue-bypass` (no listener:
 *   accepted), fail-closed ones to queue `closed` without it (no listener: dropped). The
 *   monitor opens `open` with NFQA_CFG_F_FAIL_OPEN (full: accepted) and `closed` without (full:
 *   dropped). So a dead, restarting or overloaded monitor hands each flow to its failMode in the
 *   kernel, with no heartbeat.
 * - Learning is off on both ports: every frame floods to the other port, whatever its address.
 * - Each tap tunnel from another node (`tun<i>`, point to point) is the only port of a bridge of
 *   its own with hairpin on: what the monitor accepts floods back out of the tunnel it came in
 *   by, to the node that diverted it. Its frames' marks carry the tunnel's number (bits 8-15,
 *   `queueOrigin`), so the monitor's answers (403s, resets) leave by the same tunnel.
 * - Several workers (`workers` N > 1, engine/workers/pool.ts): each failMode's queue becomes the
 *   range `first:first+N-1` (`--queue-balance`, `--queue-bypass` still on the open range), one
 *   queue of each range per worker. The balance hash (include/net/netfilter/nf_queue.h,
 *   `hash_v4`: jhash of the two addresses, the smaller first, and the protocol; reduced onto the
 *   range by xt_NFQUEUE) is symmetric, so a connection's packets in both directions reach one
 *   worker; ports are not hashed, so every connection between two hosts shares one worker
 *   (one busy client pair is never spread). `--queue-cpu-fanout` would spread a flow over
 *   workers by CPU: no. A dead worker's queues have no listener, so only its flows go to their
 *   failMode. NFLOG groups cannot be balanced (one listener a group, no hash), so with N > 1
 *   replies are queued (`replies: 'queue'`, the only choice): each costs a trip through its
 *   worker, which `replies: 'kernel'` saves one worker (bench/inline.ts measures both).
 * All of it stays when the process dies; installing again replaces it.
 */
export interface QueueSetupOptions {
  tapIf?: string;
  returnIf?: string;
  bridge?: string;
  table?: string;
  /** Queue numbers for fail-open and fail-closed frames (per namespace). */
  queues?: { open: number; closed: number };
  /** Servers' replies: accepted in the kernel and copied to the NFLOG groups (default), or queued like the rest. */
  replies?: 'kernel' | 'queue';
  /** Tap tunnels from other nodes (`tun<i>`), steered like the tap interface and answered by their origin. */
  tunnels?: readonly string[];
  /**
   * Monitor workers sharing each failMode's queue (default 1): with N > 1, `queues` are the first
   * of two ranges of N (default: open 16.., closed 16+N..) and replies must be queued.
   */
  workers?: number;
  /** `iptables-restore` program (iptables-nft or -legacy both have NFQUEUE here). */
  iptablesRestore?: string;
  nft?: string;
}

export const QUEUE_TABLE = 'flowtap_queue';
const QUEUE_BRIDGE = 'ftq0';
export const DEFAULT_QUEUES = { open: 16, closed: 17 } as const;
/** Packet marks of redirected frames inside the monitor namespace ("FT" 0010, 0011). */
export const QUEUE_MARKS = { open: 0x46540010, closed: 0x46540011 } as const;

/** The mark bits that say which interface a queued frame came in by (0: the tap interface; k: the k-th tunnel). */
const ORIGIN_SHIFT = 8;
const ORIGIN_MASK = 0xffff00ff;

/** Most workers on one queue: each is a process judging its share (2 cores here; 32 leaves room). */
const MAX_QUEUE_WORKERS = 32;

/** The queues and replies the options come to, checked: what the setup steers to and the workers bind. */
export interface QueueLayout {
  workers: number;
  /** The first queue of each failMode's range (its only one when `workers` is 1). */
  queues: { open: number; closed: number };
  replies: 'kernel' | 'queue';
}

export function queueLayout(o: Pick<QueueSetupOptions, 'queues' | 'replies' | 'workers'> = {}): QueueLayout | Diagnostic {
  const workers = o.workers ?? 1;
  if (!(Number.isInteger(workers) && workers >= 1 && workers <= MAX_QUEUE_WORKERS))
    return diag('E_INLINE_QUEUE_SETUP', `workers must be a whole number from 1 to ${MAX_QUEUE_WORKERS}, not ${workers}`);
  // One worker keeps the numbers it always had (16, 17); N ranges of N side by side from 16.
  const q = o.queues ?? (workers === 1 ? DEFAULT_QUEUES : { open: DEFAULT_QUEUES.open, closed: DEFAULT_QUEUES.open + workers });
  for (const n of [q.open, q.closed])
    if (!(Number.isInteger(n) && n >= 0 && n + workers - 1 <= 65535))
      return diag(
        'E_INLINE_QUEUE_SETUP',
        workers === 1 ? `queue numbers are 0..65535, not ${n}` : `queue ranges are within 0..65535 (${workers} from ${n} is not)`,
      );
  if (workers === 1 && q.open === q.closed)
    return diag('E_INLINE_QUEUE_SETUP', `fail-open and fail-closed frames need two queues, not both ${q.open}`);
  if (workers > 1 && Math.abs(q.open - q.closed) < workers)
    return diag(
      'E_INLINE_QUEUE_SETUP',
      `with ${workers} workers the fail-open queues ${q.open}:${q.open + workers - 1} and fail-closed ${q.closed}:${q.closed + workers - 1} overlap`,
    );
  const replies = o.replies ?? (workers === 1 ? 'kernel' : 'queue');
  if (replies !== 'kernel' && replies !== 'queue')
    return diag('E_INLINE_QUEUE_SETUP', `replies must be "kernel" or "queue", not ${JSON.stringify(replies)}`);
  if (replies === 'kernel' && workers > 1)
    return diag(
      'E_INLINE_QUEUE_SETUP',
      `replies cannot stay in the kernel with ${workers} workers: an NFLOG group has one listener and no balancing (use replies "queue")`,
    );
  return { workers, queues: { open: q.open, closed: q.closed }, replies };
}

/** Worker `k`'s queues (0-based): the k-th of each range. */
export function workerQueues(l: QueueLayout, k: number): { open: number; closed: number } {
  return { open: l.queues.open + k, closed: l.queues.closed + k };
}

/** iptables match arguments for the frames steered to queue `queue` (mark `mark`), and what to do with them. */
function forwardRules(mark: number, queue: number, bypass: boolean, replies: 'kernel' | 'queue', workers = 1): string[][] {
  const target = workers === 1 ? ['--queue-num', String(queue)] : ['--queue-balance', `${queue}:${queue + workers - 1}`];
  const hex = (n: number) => `0x${n.toString(16)}`;
  const marked = ['-m', 'mark', '--mark', `${hex(mark)}/${hex(ORIGIN_MASK)}`];
  const reply = [...marked, '-m', 'conntrack', '--ctstate', 'ESTABLISHED', '--ctdir', 'REPLY'];
  return [
    ...(replies === 'kernel'
      ? [
          [...reply, '-j', 'NFLOG', '--nflog-group', String(queue)],
          [...reply, '-j', 'ACCEPT'],
        ]
      : []),
    [...marked, '-j', 'NFQUEUE', ...target, ...(bypass ? ['--queue-bypass'] : [])],
  ];
}

/** Which interface a queued frame came in by, from its mark: 0 the tap interface, k the k-th of the sorted tunnels. */
export function queueOrigin(mark: number): number {
  return (mark >>> ORIGIN_SHIFT) & 0xff;
}

/** Tunnels in origin order (`tun2` before `tun10`): the setup and the monitor number them alike. */
export function sortedTunnels(tunnels: readonly string[]): string[] {
  const n = (t: string) => Number(/\d+$/.exec(t)?.[0] ?? 0);
  return [...tunnels].sort((a, b) => n(a) - n(b) || (a < b ? -1 : a > b ? 1 : 0));
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const TABLE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export interface QueueSetup {
  nft: string;
  iptables: string;
  /** Bridge and sysctl steps, in order. */
  steps: string[][];
}

/** The namespace's configuration for the queue mode; an error for names that would not be safe in a command. */
export function renderQueueSetup(o: QueueSetupOptions = {}): QueueSetup | Diagnostic {
  const tapIf = o.tapIf ?? MONITOR_TAP_IF;
  const returnIf = o.returnIf ?? MONITOR_RETURN_IF;
  const bridge = o.bridge ?? QUEUE_BRIDGE;
  const table = o.table ?? QUEUE_TABLE;
  const layout = queueLayout(o);
  if ('code' in layout) return layout;
  const { queues: q, replies, workers } = layout;
  const tunnels = sortedTunnels(o.tunnels ?? []);
  if (tunnels.length > 255) return diag('E_INLINE_QUEUE_SETUP', `at most 255 tap tunnels, not ${tunnels.length}`);
  for (const [what, v] of [
    ['tap interface', tapIf],
    ['return interface', returnIf],
    ['bridge', bridge],
    ...tunnels.map((t) => ['tap tunnel', t] as const),
  ] as const)
    if (!IFNAME.test(v))
      return diag('E_INLINE_QUEUE_SETUP', `${what} must be an interface name (1-15 of A-Za-z0-9_.-), not ${JSON.stringify(v)}`);
  if (!TABLE.test(table)) return diag('E_INLINE_QUEUE_SETUP', `table must be an nft identifier, not ${JSON.stringify(table)}`);
  const hex = (n: number) => `0x${n.toString(16)}`;
  const marked = (k: number, m: number) => (m | (k << ORIGIN_SHIFT)) >>> 0;
  const range = (first: number) => (workers === 1 ? String(first) : `${first}:${first + workers - 1}`);
  const steer = (chain: string, dev: string, k: number) => [
    `  chain ${chain} {`,
    `    type filter hook ingress device "${dev}" priority 0; policy accept;`,
    '    ether saddr & ff:ff:fc:00:00:00 != 02:66:70:00:00:00 counter drop comment "a copy: the capture has it"',
    `    ether saddr & ff:ff:fe:00:00:00 == 02:66:72:00:00:00 meta mark set ${hex(marked(k, QUEUE_MARKS.open))} counter accept comment "fail-open redirect: queue ${range(q.open)}"`,
    `    meta mark set ${hex(marked(k, QUEUE_MARKS.closed))} counter accept comment "fail-closed redirect: queue ${range(q.closed)}"`,
    '  }',
  ];
  const nft = [
    // Today's hold-until-retransmitted table judges at the same hook: it must go.
    `table netdev ${INLINE_TABLE}`,
    `delete table netdev ${INLINE_TABLE}`,
    `table netdev ${table}`,
    `delete table netdev ${table}`,
    `table netdev ${table} {`,
    ...steer('taps', tapIf, 0),
    ...tunnels.flatMap((t, i) => steer(`taps_${t.replace(/[^A-Za-z0-9_]/g, '_')}`, t, i + 1)),
    '  chain back {',
    `    type filter hook ingress device "${returnIf}" priority 0; policy drop;`,
    '    counter comment "nothing enters by the return port"',
    '  }',
    '}',
    '',
  ].join('\n');
  const iptables = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ...forwardRules(QUEUE_MARKS.open, q.open, true, replies, workers).map((r) => `-A FORWARD ${r.join(' ')}`),
    ...forwardRules(QUEUE_MARKS.closed, q.closed, false, replies, workers).map((r) => `-A FORWARD ${r.join(' ')}`),
    'COMMIT',
    '',
  ].join('\n');
  const steps = [
    ['sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=1'],
    ['sysctl', '-qw', 'net.netfilter.nf_conntrack_tcp_loose=0'],
    ['ip', 'link', 'add', bridge, 'type', 'bridge'],
    ['ip', 'link', 'set', tapIf, 'master', bridge],
    ['ip', 'link', 'set', returnIf, 'master', bridge],
    ['ip', 'link', 'set', 'dev', tapIf, 'type', 'bridge_slave', 'learning', 'off'],
    ['ip', 'link', 'set', 'dev', returnIf, 'type', 'bridge_slave', 'learning', 'off'],
    ['ip', 'link', 'set', bridge, 'up'],
    ...tunnels.flatMap((t, i) => [
      ['ip', 'link', 'add', `ftq${i + 1}`, 'type', 'bridge'],
      ['ip', 'link', 'set', t, 'master', `ftq${i + 1}`],
      ['ip', 'link', 'set', 'dev', t, 'type', 'bridge_slave', 'learning', 'off', 'hairpin', 'on'],
      ['ip', 'link', 'set', `ftq${i + 1}`, 'up'],
    ]),
  ];
  return { nft, iptables, steps };
}

/**
 * The same configuration as commands that need no input, each run in namespace `ns`: what the
 * local cloud runs when it makes a monitor namespace, so each redirect's failMode holds in the
 * kernel before any monitor process starts (installQueueSetup at the monitor's start replaces it).
 */
export function queueSetupCommands(ns: string, o: QueueSetupOptions = {}): string[][] | Diagnostic {
  const s = renderQueueSetup(o);
  if ('code' in s) return s;
  const layout = queueLayout(o);
  if ('code' in layout) return layout;
  const { queues: q, replies, workers } = layout;
  const inNs = (argv: string[]) => ['ip', 'netns', 'exec', ns, ...argv];
  const forward = (rule: string[]) => inNs(['iptables', '-w', '-A', 'FORWARD', ...rule]);
  return [
    ...s.steps.map(inNs),
    inNs([o.nft ?? 'nft', s.nft]),
    // Fail-open frames may pass when no monitor listens (--queue-bypass); fail-closed ones may not.
    ...forwardRules(QUEUE_MARKS.open, q.open, true, replies, workers).map(forward),
    ...forwardRules(QUEUE_MARKS.closed, q.closed, false, replies, workers).map(forward),
  ];
}

/**
 * Installs the queue mode's configuration in the namespace (`ns`, or the one this process runs
 * in). A bridge that already exists is kept; anything else that fails is an error naming the step.
 */
export async function installQueueSetup(system: System, o: QueueSetupOptions & { ns?: string } = {}): Promise<Diagnostic[]> {
  const s = renderQueueSetup(o);
  if ('code' in s) return [s];
  const run = async (argv: string[], input?: string): Promise<string | null> => {
    const r = await system.run(argv, { ns: o.ns, ...(input !== undefined ? { input } : {}) });
    return r.code === 0 ? null : (r.stderr || r.stdout).trim() || `exit ${r.code}`;
  };
  for (const step of s.steps) {
    const err = await run(step);
    if (err !== null && !(step[2] === 'add' && /exists/i.test(err))) return [diag('E_INLINE_QUEUE_SETUP', `${step.join(' ')}: ${err}`)];
  }
  const nftErr = await run([o.nft ?? 'nft', '-f', '-'], s.nft);
  if (nftErr !== null) return [diag('E_INLINE_QUEUE_SETUP', `nft: ${nftErr}`)];
  const iptErr = await run([o.iptablesRestore ?? 'iptables-restore'], s.iptables);
  if (iptErr !== null) return [diag('E_INLINE_QUEUE_SETUP', `iptables-restore: ${iptErr}`)];
  return [];
}
