import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { diag, fail, ok, type Diagnostic, type Result } from '../../../diagnostics/index.js';

/**
 * One packet the kernel holds for a verdict, or (`logged`) a copy of one it let through without
 * one (a server's reply, from the queue's NFLOG group: queue-setup.ts). `packet` and `hw` are
 * views valid during the batch callback only.
 */
export interface QueuedPacket {
  /** The verdict's packet id (0 for a logged packet: it takes no verdict). */
  id: number;
  /** The IP packet (network header on). */
  packet: Uint8Array;
  /** Link-layer source address (6 bytes on Ethernet; empty when the hook has none). */
  hw: Uint8Array;
  mark: number;
  /** Already passed by the kernel: the engine takes it, nothing answers it. */
  logged: boolean;
}

export interface QueueOpenOptions {
  queue: number;
  /** Packets the kernel holds for this queue before its overload rule applies. */
  maxlen: number;
  /** When the queue is full: accept (true) or drop (false). */
  failOpen: boolean;
  /** Most packets read per wake-up. */
  batchMax: number;
  /**
   * The NFLOG group whose copies join this queue's batches, before the packets queued after them
   * (the replies of this queue's flows; none when absent).
   */
  logGroup?: number;
}

export interface QueueStats {
  received: number;
  batches: number;
  verdicts: number;
  sends: number;
  enobufs: number;
  recvErrors: number;
  sendErrors: number;
  kernelErrors: number;
  callbackErrors: number;
  /** Copies taken from the NFLOG group, and reads of it that failed (copies lost, never packets). */
  logged: number;
  logErrors: number;
}

/** One bound queue. Verdicts given during `onBatch` leave together when it returns; `flush` sends others. */
export interface OpenQueue {
  verdict(id: number, accept: boolean, replacement?: Uint8Array): Diagnostic | null;
  flush(): Diagnostic | null;
  close(): void;
  stats(): QueueStats;
}

/** The effect: netfilter queues and raw frames out of an interface (native addon, or the recording fake in testing.ts). */
export interface PacketQueues {
  open(opts: QueueOpenOptions, onBatch: (batch: readonly QueuedPacket[]) => void): Result<OpenQueue>;
  sendFrame(ifname: string, frame: Uint8Array): Diagnostic | null;
}

interface NativeAddon {
  open(queue: number, maxlen: number, failOpen: boolean, batchMax: number, cb: NativeBatch, logGroup?: number): unknown;
  verdict(h: unknown, id: number, accept: boolean, payload?: Uint8Array): string | null;
  flush(h: unknown): string | null;
  close(h: unknown): string | null;
  stats(h: unknown): QueueStats | string;
  sendFrame(ifname: string, frame: Uint8Array): string | null;
}
/** `logged` (one byte a packet, 1: from the NFLOG group) is absent from an addon built before it had NFLOG groups. */
type NativeBatch = (count: number, meta: Uint32Array, data: Buffer, hw: Buffer, logged?: Buffer) => void;

const META_WORDS = 5;
const HW_BYTES = 8;

/** Where the addon is built (scripts/setup.sh), from the project root. */
const NFQUEUE_ADDON = 'native/nfqueue/build/Release/nfqueue.node';

/** The project root, found from this file whether it runs from the sources' build or another output folder. */
function addonPath(): string | null {
  const env = process.env.FLOWTAP_NFQUEUE_ADDON;
  if (env) return existsSync(env) ? env : null;
  let dir = new URL('.', import.meta.url);
  for (let i = 0; i < 8; i++) {
    const candidate = new URL(NFQUEUE_ADDON, dir);
    if (existsSync(candidate)) return candidate.pathname;
    dir = new URL('..', dir);
  }
  return null;
}

let loaded: Result<NativeAddon> | null = null;

function loadAddon(): Result<NativeAddon> {
  if (loaded) return loaded;
  const path = addonPath();
  if (path === null)
    loaded = fail([
      diag(
        'E_INLINE_QUEUE',
        `the netfilter queue addon is not built (${NFQUEUE_ADDON}): run scripts/setup.sh, or node-gyp rebuild in native/nfqueue`,
      ),
    ]);
  else
    try {
      loaded = ok(createRequire(import.meta.url)(path) as NativeAddon);
    } catch (e) {
      loaded = fail([diag('E_INLINE_QUEUE', `cannot load ${path}: ${(e as Error).message}`)]);
    }
  return loaded;
}

/** Why the real queues cannot be used here, or null (tests and benches gate on it). */
export function nfqueueMissing(): string | null {
  const r = loadAddon();
  return r.ok ? null : r.errors[0].message;
}

const asDiag = (what: string, e: string | null): Diagnostic | null => (e === null ? null : diag('E_INLINE_QUEUE', `${what}: ${e}`));

/** The real queues: the native addon (native/nfqueue). */
export function nfqueues(): Result<PacketQueues> {
  const r = loadAddon();
  if (!r.ok) return r;
  const a = r.value;
  return ok({
    open(opts, onBatch) {
      // The addon hands a batch as flat arrays; views on them are built here, once per packet.
      const native: NativeBatch = (count, meta, data, hw, logged) => {
        const batch: QueuedPacket[] = new Array(count);
        for (let i = 0; i < count; i++) {
          const m = i * META_WORDS;
          batch[i] = {
            id: meta[m],
            packet: data.subarray(meta[m + 1], meta[m + 1] + meta[m + 2]),
            hw: hw.subarray(i * HW_BYTES, i * HW_BYTES + meta[m + 4]),
            mark: meta[m + 3],
            logged: logged !== undefined && logged[i] === 1,
          };
        }
        onBatch(batch);
      };
      const h = a.open(opts.queue, opts.maxlen, opts.failOpen, opts.batchMax, native, opts.logGroup);
      if (typeof h === 'string') return fail([diag('E_INLINE_QUEUE', `queue ${opts.queue}: ${h}`)]);
      // An addon built before NFLOG groups ignores the group: the replies' copies would be lost without a word.
      const s0 = a.stats(h);
      if (opts.logGroup !== undefined && (typeof s0 === 'string' || !('logged' in s0))) {
        a.close(h);
        return fail([diag('E_INLINE_QUEUE', `queue ${opts.queue}: the addon (${NFQUEUE_ADDON}) predates NFLOG groups: rebuild it`)]);
      }
      return ok({
        verdict: (id, accept, replacement) => asDiag(`verdict on queue ${opts.queue}`, a.verdict(h, id, accept, replacement)),
        flush: () => asDiag(`verdicts on queue ${opts.queue}`, a.flush(h)),
        close: () => void a.close(h),
        stats: () => {
          const s = a.stats(h);
          return typeof s === 'string' ? EMPTY_STATS : { ...EMPTY_STATS, ...s };
        },
      });
    },
    sendFrame: (ifname, frame) => asDiag(`frame out of ${ifname}`, a.sendFrame(ifname, frame)),
  });
}

const EMPTY_STATS: QueueStats = {
  received: 0,
  batches: 0,
  verdicts: 0,
  sends: 0,
  enobufs: 0,
  recvErrors: 0,
  sendErrors: 0,
  kernelErrors: 0,
  callbackErrors: 0,
  logged: 0,
  logErrors: 0,
};

export function emptyQueueStats(): QueueStats {
  return { ...EMPTY_STATS };
}
