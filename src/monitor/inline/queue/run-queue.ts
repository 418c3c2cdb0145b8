import { readdirSync, readFileSync } from 'node:fs';
import { diag, type Diagnostic } from '../../../diagnostics/index.js';
import { MONITOR_TAP_IF } from '../../../dataplane/index.js';
import { realSystem, type System } from '../../../system/index.js';
import type { DecodedPacket } from '../../decode/index.js';
import type { LogValue } from '../../logs/index.js';
import type { Decision } from '../../policy/index.js';
import type { Connection } from '../../tcp/index.js';
import { emptyQueueStats, nfqueues, type OpenQueue, type PacketQueues, type QueuedPacket, type QueueStats } from './packet-queue.js';
import { QueueJudge, type QueueJudgeStats } from './queue-judge.js';
import { DEFAULT_QUEUES, installQueueSetup, queueOrigin, sortedTunnels, type QueueSetupOptions } from './queue-setup.js';

/** LINKTYPE_RAW: queued packets start at the IP header. */
const LT_RAW = 101;

export interface QueueInlineOptions extends QueueSetupOptions {
  /** Install the namespace's bridge, nft table and iptables rules at start (default true). */
  install?: boolean;
  /** Packets the kernel may hold per queue before the failMode of its flows applies (default 4096). */
  maxlen?: number;
  /** Most packets judged per wake-up (default 128). */
  batchMax?: number;
  /** The monitor namespace to install into (default: the one this process runs in). */
  ns?: string;
  system?: System;
  /** The queues (default: the native addon). */
  queues?: QueueSetupOptions['queues'];
  packetQueues?: PacketQueues;
  /** Wall clock in seconds (tests). */
  now?: () => number;
}

/** The engine as the queue mode drives it: one packet at a time, a tick a second. */
export interface QueueEngine {
  frame(linktype: number, data: Uint8Array, ts: number): void;
  tick(now: number): void;
}

export interface QueueInlineSummary extends QueueJudgeStats {
  queues: { open: QueueStats; closed: QueueStats };
  errors: number;
}

export interface QueueInlineRun {
  /** For MonitorEngineOptions.observer. */
  readonly observer: {
    packet(dp: DecodedPacket, conn: Connection | null, frame: Uint8Array): void;
    weird(uid: string, name: string, source: string): void;
  };
  /** For MonitorPolicy.decisions. */
  decision(d: Decision): void;
  /** Installs the namespace's configuration (unless told not to), binds both queues and starts judging. */
  start(engine: QueueEngine): Promise<Diagnostic[]>;
  /** Unbinds the queues: from then on the kernel applies each flow's failMode. */
  stop(): void;
  summary(): QueueInlineSummary;
  diagnostics(): Diagnostic[];
}

const MAX_REPORTED_ERRORS = 20;

/**
 * Where redirected frames come in: the tap interface first, then the tap tunnels in origin order
 * (a queued frame's mark numbers them). Installed from inside the namespace, the tunnels are
 * whatever it has; from outside, those named.
 */
export function queuePorts(opts: Pick<QueueInlineOptions, 'tapIf' | 'tunnels' | 'ns' | 'install'>): string[] {
  const tunnels = opts.tunnels ?? (opts.ns === undefined && opts.install !== false ? ownTunnels() : []);
  return [opts.tapIf ?? MONITOR_TAP_IF, ...sortedTunnels(tunnels)];
}

/** The tap tunnels of the namespace this process runs in (the local cloud names them `tun<i>`). */
export function ownTunnels(): string[] {
  try {
    return readdirSync('/sys/class/net').filter((n) => /^tun\d+$/.test(n));
  } catch {
    return [];
  }
}

function interfaceMac(ifname: string): Uint8Array | undefined {
  try {
    const text = readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim();
    const bytes = text.split(':').map((h) => Number.parseInt(h, 16));
    return bytes.length === 6 && bytes.every((b) => b >= 0 && b < 256) ? new Uint8Array(bytes) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The queue mode of the inline monitor (issue 13), run inside a monitor namespace: redirected
 * packets wait in a netfilter queue only while the engine takes them, and get their verdict in
 * the same turn of the event loop (queue-judge.ts). Inline.log rows are those of today's gate.
 */
export function createQueueInline(
  opts: QueueInlineOptions,
  hasParser: (ip: string, port: number) => boolean,
  log: (row: readonly LogValue[]) => void,
): QueueInlineRun {
  const [tapIf, ...tunnels] = queuePorts(opts);
  const now = opts.now ?? (() => Date.now() / 1000);
  const errors: Diagnostic[] = [];
  let errorCount = 0;
  const report = (d: Diagnostic | null): void => {
    if (d === null) return;
    errorCount++;
    if (errors.length < MAX_REPORTED_ERRORS) errors.push(d);
  };
  let queues: PacketQueues | null = opts.packetQueues ?? null;
  // Answers (403s, resets) leave by the interface the packet being judged came in by.
  let out = tapIf;
  const judge = new QueueJudge(
    { hasParser, ...(interfaceMac(tapIf) ? { ownMac: interfaceMac(tapIf) } : {}) },
    { frame: (f) => report(queues?.sendFrame(out, f) ?? null), log },
  );
  const open: { open: OpenQueue | null; closed: OpenQueue | null } = { open: null, closed: null };
  let timer: ReturnType<typeof setInterval> | undefined;

  const onBatch = (engine: QueueEngine, q: () => OpenQueue | null) => (batch: readonly QueuedPacket[]) => {
    const queue = q();
    if (!queue) return;
    const ts = now();
    for (const p of batch) {
      let v: ReturnType<QueueJudge['verdict']>;
      try {
        const origin = queueOrigin(p.mark);
        out = origin === 0 ? tapIf : (tunnels[origin - 1] ?? tapIf);
        judge.begin();
        engine.frame(LT_RAW, p.packet, ts);
        if (p.logged) {
          if (!judge.passed(p.packet, p.hw, ts))
            report(
              diag(
                'E_INLINE_QUEUE',
                'the kernel passed client data of a blocked connection as a reply (conntrack and the monitor disagree on its direction)',
              ),
            );
          continue;
        }
        v = judge.verdict(p.packet, p.hw, ts);
      } catch (e) {
        if (p.logged) {
          report(diag('E_INLINE_QUEUE', `taking a reply: ${(e as Error).message}`));
          continue;
        }
        // A bug of ours must not hold the packet forever: the queue's own failMode decides it.
        report(diag('E_INLINE_QUEUE', `judging packet ${p.id}: ${(e as Error).message}`));
        v = { accept: queue === open.open };
      }
      report(v.accept ? queue.verdict(p.id, true, v.replacement) : queue.verdict(p.id, false));
    }
  };

  return {
    observer: {
      packet: (dp, conn) => judge.observed(dp, conn),
      weird: (uid, name, source) => judge.weird(uid, name, source),
    },
    decision: (d) => judge.decision(d),
    async start(engine) {
      if (queues === null) {
        const q = nfqueues();
        if (!q.ok) return q.errors;
        queues = q.value;
      }
      if (opts.install !== false) {
        const problems = await installQueueSetup(opts.system ?? realSystem, { ...opts, tunnels });
        if (problems.length) return problems;
      }
      const nums = opts.queues ?? DEFAULT_QUEUES;
      const common = { maxlen: opts.maxlen ?? 4096, batchMax: opts.batchMax ?? 128 };
      // Each queue reads the NFLOG group of the same number: its flows' replies, which the kernel passed.
      const o = queues.open(
        { queue: nums.open, failOpen: true, logGroup: nums.open, ...common },
        onBatch(engine, () => open.open),
      );
      if (!o.ok) return o.errors;
      const c = queues.open(
        { queue: nums.closed, failOpen: false, logGroup: nums.closed, ...common },
        onBatch(engine, () => open.closed),
      );
      if (!c.ok) {
        o.value.close();
        return c.errors;
      }
      open.open = o.value;
      open.closed = c.value;
      timer = setInterval(() => {
        const t = now();
        engine.tick(t);
        judge.tick(t);
      }, 1000);
      // The queues' poll handles keep the process alive while they are open; the timer need not.
      timer.unref();
      return [];
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      open.open?.close();
      open.closed?.close();
    },
    summary: () => ({
      ...judge.stats,
      queues: { open: open.open?.stats() ?? emptyQueueStats(), closed: open.closed?.stats() ?? emptyQueueStats() },
      errors: errorCount,
    }),
    diagnostics: () => [
      ...errors,
      ...(errorCount > errors.length ? [diag('E_INLINE_QUEUE', `${errorCount - errors.length} more queue errors`)] : []),
    ],
  };
}
