/** Test support: netfilter queues that record what they were told, fed batches by the test. */
import { diag, fail, ok, type Diagnostic, type Result } from '../../../diagnostics/index.js';
import { emptyQueueStats, type OpenQueue, type PacketQueues, type QueuedPacket, type QueueOpenOptions } from './packet-queue.js';

export interface RecordedVerdict {
  queue: number;
  id: number;
  accept: boolean;
  replacement?: Uint8Array;
}

export class RecordingQueues implements PacketQueues {
  readonly opened: QueueOpenOptions[] = [];
  readonly verdicts: RecordedVerdict[] = [];
  readonly frames: { ifname: string; frame: Uint8Array }[] = [];
  readonly closed: number[] = [];
  private readonly handlers = new Map<number, (batch: readonly QueuedPacket[]) => void>();
  private nextId = 1;

  /** `refuse`: queue numbers whose open fails (another process holds them). */
  constructor(private readonly refuse: number[] = []) {}

  open(opts: QueueOpenOptions, onBatch: (batch: readonly QueuedPacket[]) => void): Result<OpenQueue> {
    if (this.refuse.includes(opts.queue))
      return fail([diag('E_INLINE_QUEUE', `queue ${opts.queue}: cannot bind netfilter queue ${opts.queue}`)]);
    this.opened.push(opts);
    this.handlers.set(opts.queue, onBatch);
    return ok({
      verdict: (id: number, accept: boolean, replacement?: Uint8Array): Diagnostic | null => {
        this.verdicts.push({ queue: opts.queue, id, accept, ...(replacement ? { replacement: replacement.slice() } : {}) });
        return null;
      },
      flush: () => null,
      close: () => void this.closed.push(opts.queue),
      stats: emptyQueueStats,
    });
  }

  sendFrame(ifname: string, frame: Uint8Array): Diagnostic | null {
    this.frames.push({ ifname, frame: frame.slice() });
    return null;
  }

  /** The kernel queues packets on `queue` (`logged`: copies from its NFLOG group, already passed): one batch; returns their ids (0: logged). */
  deliver(queue: number, packets: { packet: Uint8Array; hw: Uint8Array; logged?: boolean }[]): number[] {
    const h = this.handlers.get(queue);
    if (!h) throw new Error(`queue ${queue} is not open`);
    const batch = packets.map((p) => ({
      id: p.logged ? 0 : this.nextId++,
      packet: p.packet,
      hw: p.hw,
      mark: 0,
      logged: p.logged === true,
    }));
    h(batch);
    return batch.map((b) => b.id);
  }
}
