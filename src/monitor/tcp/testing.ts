import { PacketDecoder } from '../decode/index.js';
import * as B from '../testing/index.js';
import { ConnTracker, type ConnTrackerOptions } from './conn-tracker.js';
import type { Connection, Direction } from './connection.js';

const td = new TextDecoder();

/** Feeds crafted frames through a real decoder and a tracker, recording every callback. */
export class Harness {
  readonly decoder = new PacketDecoder();
  readonly tracker: ConnTracker;
  /** Reassembled text per connection uid and direction. */
  readonly streams = new Map<string, [string, string]>();
  readonly gaps: { uid: string; dir: Direction; len: number }[] = [];
  readonly closed: Connection[] = [];
  readonly weirds: string[] = [];
  readonly datagrams: string[] = [];

  constructor(opts: ConnTrackerOptions = {}) {
    this.tracker = new ConnTracker(
      {
        onData: (c, dir, bytes, off, len) => {
          const s = this.streams.get(c.uid) ?? ['', ''];
          s[dir] += td.decode(bytes.subarray(off, off + len));
          this.streams.set(c.uid, s);
        },
        onGap: (c, dir, len) => this.gaps.push({ uid: c.uid, dir, len }),
        onClose: (c) => this.closed.push(c),
        onWeird: (_c, name) => this.weirds.push(name),
        onDatagram: (_c, dir, bytes, off, len) => this.datagrams.push(`${dir}:${td.decode(bytes.subarray(off, off + len))}`),
      },
      { seed: 1, ...opts },
    );
  }

  frame(frame: Uint8Array, ts: number): Connection | null {
    const dp = this.decoder.decode(1, frame, ts);
    if (!dp) throw new Error(`test frame did not decode: ${this.decoder.lastSkip}`);
    return this.tracker.process(dp);
  }

  stream(c: Connection): [string, string] {
    return this.streams.get(c.uid) ?? ['', ''];
  }
}

export interface Seg {
  flags: string;
  seq: number;
  ack?: number;
  data?: string;
  window?: number;
}

/** One client/server pair: `c(...)` sends from the client, `s(...)` from the server. */
export class Flow {
  t = 100;
  constructor(
    readonly h: Harness,
    readonly client = '10.0.0.1',
    readonly cport = 40000,
    readonly server = '10.0.0.2',
    readonly sport = 80,
  ) {}

  c(seg: Seg): Connection | null {
    return this.send(true, seg);
  }

  s(seg: Seg): Connection | null {
    return this.send(false, seg);
  }

  private send(fromClient: boolean, seg: Seg): Connection | null {
    this.t += 0.01;
    const [src, dst, sp, dp] = fromClient
      ? [this.client, this.server, this.cport, this.sport]
      : [this.server, this.client, this.sport, this.cport];
    return this.h.frame(
      B.tcpFrame({
        src,
        dst,
        sport: sp,
        dport: dp,
        flags: seg.flags,
        seq: seg.seq,
        ack: seg.ack ?? 0,
        payload: seg.data,
        window: seg.window,
      }),
      this.t,
    );
  }

  /** SYN, SYN-ACK, ACK with client ISN 1000 and server ISN 5000. */
  handshake(): Connection {
    this.c({ flags: 'S', seq: 1000 });
    this.s({ flags: 'SA', seq: 5000, ack: 1001 });
    return this.c({ flags: 'A', seq: 1001, ack: 5001 })!;
  }
}
