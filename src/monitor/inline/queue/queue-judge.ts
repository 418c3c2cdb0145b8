import { parseRedirectTag, type FailMode } from '../../../dataplane/index.js';
import type { DecodedPacket } from '../../decode/index.js';
import type { LogValue } from '../../logs/index.js';
import type { Decision } from '../../policy/index.js';
import type { Connection } from '../../tcp/index.js';
import { refusalFor } from './refusals.js';
import { answerClientFrame, readTcp, resetInPlaceOf, TCP_SYN, type TcpView } from './tcp-segment.js';

/** What the judge does to a packet: pass it, drop it, or pass `replacement` in its place. */
export type QueueVerdict = { accept: true; replacement?: Uint8Array } | { accept: false };

/** Where the judge's effects go. */
export interface JudgeSink {
  /** An Ethernet frame for the client, out of the tap interface (the node hands it on by its tag). */
  frame(frame: Uint8Array): void;
  log(row: readonly LogValue[]): void;
}

export interface QueueJudgeOptions {
  /** Whether the engine parses requests of this responder (else a connection is judged as a whole). */
  hasParser: (respIp: string, respPort: number) => boolean;
  /** Source address of the frames the judge sends (the tap interface's). */
  ownMac?: Uint8Array;
  /** Seconds without a packet after which a connection's state is forgotten. */
  idleTimeout?: number;
}

export interface QueueJudgeStats {
  connections: number;
  passed: number;
  blocked: number;
  packets: number;
  answered: number;
  /** Packets the kernel passed without a verdict (servers' replies), taken only for the logs. */
  unqueued: number;
  /** Of those, client data of a blocked connection: a verdict would have stopped it (see `passed`). */
  missed: number;
}

type State = 'inspect' | 'pass' | 'block';

class JudgedConn {
  state: State = 'inspect';
  /** What blocked it: a request's kind picks the client's answer (refusals.ts); null, a reset. */
  blockKind: Decision['kind'] | null = null;
  blockRequest: string | null = null;
  blockReason = '';
  answered = false;
  lastSeen = 0;
  constructor(
    readonly uid: string,
    readonly orig: string,
    readonly origP: number,
    readonly resp: string,
    readonly respP: number,
    public mode: FailMode,
  ) {}
}

const ACCEPT: QueueVerdict = { accept: true };
const DROP: QueueVerdict = { accept: false };

/**
 * The queue mode's decisions, as a pure state machine: for each queued packet, the runner first
 * lets the engine take it (tracking, reassembly, parsing, policies: the verdicts on whatever the
 * packet completed are taken synchronously then, and reach `decision` and `observed`), then asks
 * `verdict`. Nothing waits for a retransmission: a packet is accepted at once unless it carries
 * (the end of) a request that must be blocked.
 *
 * - A blocked request: the packet that completes it is replaced by a reset at its sequence
 *   number (the server drops the connection and never sees the request), and the client gets
 *   its protocol's refusal with the reason, then FIN, from the monitor: HTTP a 403, PostgreSQL
 *   an ErrorResponse (42501), NATS a Permissions Violation `-ERR` (refusals.ts). Later client
 *   data is reset likewise.
 * - A blocked connection, or a block for anything but a request: reset towards the server in
 *   the same way, a reset for the client (a SYN is dropped, with a reset for the client).
 * - Parts of a request pass as they come: a server cannot act on part of a message, and the
 *   packet that completes it is the one judged (out-of-order parts wait in the server's queue).
 * - Oddities in what the client sent block, as in today's gate: it passes only what it parsed.
 * - Servers' replies pass in the kernel (queue-setup.ts): the runner hands them to the engine
 *   and to `passed`, for the logs and the decisions they bring; nothing answers them.
 * - A connection first seen mid-stream (a monitor restart) follows its failMode: its earlier
 *   requests were not seen.
 */
export class QueueJudge {
  private readonly conns = new Map<string, JudgedConn>();
  private readonly opts: Required<QueueJudgeOptions>;
  private frameDecisions: Decision[] = [];
  private frameWeirds: string[] = [];
  /** What the engine said of the current packet. */
  private current: { conn: Connection; fromClient: boolean; syn: boolean } | null = null;
  readonly stats: QueueJudgeStats = { connections: 0, passed: 0, blocked: 0, packets: 0, answered: 0, unqueued: 0, missed: 0 };

  constructor(
    opts: QueueJudgeOptions,
    private readonly sink: JudgeSink,
  ) {
    this.opts = { ownMac: new Uint8Array([0x02, 0x66, 0x00, 0x00, 0x00, 0x01]), idleTimeout: 120, ...opts };
  }

  /** Engine observer: the packet the engine just handled. */
  observed(dp: DecodedPacket, conn: Connection | null): void {
    if (conn === null || conn.proto !== 6 || dp.ipVersion !== 4) return;
    this.current = {
      conn,
      fromClient: dp.srcPort === conn.origPort && dp.src4 === conn.origAddr4,
      syn: (dp.tcpFlags & 0x12) === 0x02,
    };
  }

  /** Engine observer: a protocol oddity raised while it handled the current packet. */
  weird(uid: string, name: string, source: string): void {
    if (source === 'DECODE' || (source === 'TCP' && name !== 'rexmit_inconsistency')) return;
    this.frameWeirds.push(uid, `${source} ${name}`);
  }

  /** Policy decision (engine's MonitorPolicy.decisions), taken while the engine handled the current packet. */
  decision(d: Decision): void {
    this.frameDecisions.push(d);
  }

  /** Before the engine takes a packet: forget what the previous one left. */
  begin(): void {
    this.current = null;
    this.frameDecisions = [];
    this.frameWeirds = [];
  }

  /** The verdict on the packet the engine just took; `hw` is its link-layer source (the redirect tag). */
  verdict(packet: Uint8Array, hw: Uint8Array, now: number): QueueVerdict {
    this.stats.packets++;
    return this.take(packet, hw, now, true);
  }

  /**
   * The packet the engine just took had already passed in the kernel (a reply of an established
   * connection: queue-setup.ts): its decisions apply as for any packet, and nothing answers it.
   * False when the engine took it for client data of a blocked connection, which a verdict would
   * have stopped: the kernel's notion of the reply direction and the engine's disagreed.
   */
  passed(packet: Uint8Array, hw: Uint8Array, now: number): boolean {
    this.stats.unqueued++;
    const v = this.take(packet, hw, now, false);
    if (v.accept && v.replacement === undefined) return true;
    this.stats.missed++;
    return false;
  }

  private take(packet: Uint8Array, hw: Uint8Array, now: number, act: boolean): QueueVerdict {
    const cur = this.current;
    const decided = this.frameDecisions;
    const weirds = this.frameWeirds;
    this.begin();
    const v = readTcp(packet);
    if (cur === null || v === null) {
      // Decisions about a connection whose packet the engine could not place are applied when it next shows.
      for (const d of decided) this.pending(d);
      return ACCEPT;
    }
    const tag = hw.length >= 6 ? parseRedirectTag(hw, 0) : null;
    let g = this.conns.get(cur.conn.uid);
    if (!g) g = this.open(cur.conn, cur.fromClient && cur.syn, tag?.mode ?? 'closed', now);
    if (tag) g.mode = tag.mode;
    g.lastSeen = now;
    for (const d of decided) {
      const target = d.uid === g.uid ? g : this.conns.get(d.uid);
      if (target) this.apply(target, d);
      else this.pending(d);
    }
    if (cur.fromClient && g.state === 'inspect')
      for (let i = 0; i < weirds.length; i += 2)
        if (weirds[i] === g.uid) {
          this.block(g, now, `${weirds[i + 1]}: the monitor passes only what it could parse`, null, null);
          break;
        }
    if (g.state !== 'block' || !cur.fromClient) return ACCEPT;
    if (!act) return v.payloadLength === 0 && (v.flags & TCP_SYN) === 0 ? ACCEPT : DROP;
    return this.refuse(g, v, hw);
  }

  /** Forgets connections idle longer than `idleTimeout`. */
  tick(now: number): void {
    for (const [uid, g] of this.conns) if (now - g.lastSeen > this.opts.idleTimeout) this.conns.delete(uid);
  }

  get openConnections(): number {
    return this.conns.size;
  }

  // internals

  /** Decisions for connections not open here yet wait (bounded) for their first packet. */
  private readonly early = new Map<string, Decision[]>();
  private pending(d: Decision): void {
    if (this.early.size > 4096) this.early.clear();
    const l = this.early.get(d.uid);
    if (l) l.push(d);
    else this.early.set(d.uid, [d]);
  }

  private open(conn: Connection, handshake: boolean, mode: FailMode, now: number): JudgedConn {
    const g = new JudgedConn(conn.uid, conn.origAddress, conn.origPort, conn.respAddress, conn.respPort, mode);
    g.lastSeen = now;
    this.conns.set(conn.uid, g);
    this.stats.connections++;
    const early = this.early.get(conn.uid);
    this.early.delete(conn.uid);
    if (!handshake) {
      if (mode === 'open') this.pass(g, now, null, 'picked up mid-stream: its earlier requests were not seen: fail-open');
      else this.block(g, now, 'picked up mid-stream: its earlier requests were not seen: fail-closed', null, null);
    }
    for (const d of early ?? []) this.apply(g, d);
    if (g.state === 'inspect' && !this.opts.hasParser(g.resp, g.respP))
      this.pass(g, now, `tcp connection to port ${g.respP}`, 'no request parser for this port: allowed as a connection');
    return g;
  }

  private apply(g: JudgedConn, d: Decision): void {
    if (g.state === 'block') return;
    if (!d.allowed) this.block(g, d.ts, d.reason, d.request, d.kind === 'connection' ? null : d.kind);
    else if (d.kind !== 'connection') {
      this.stats.passed++;
      this.row(g, d.ts, 'pass', d.request, d.reason);
    }
  }

  private pass(g: JudgedConn, ts: number, request: string | null, reason: string): void {
    g.state = 'pass';
    this.stats.passed++;
    this.row(g, ts, 'pass', request, reason);
  }

  private block(g: JudgedConn, ts: number, reason: string, request: string | null, kind: Decision['kind'] | null): void {
    g.state = 'block';
    g.blockKind = kind;
    g.blockRequest = request;
    g.blockReason = reason;
    this.stats.blocked++;
    this.row(g, ts, 'block', request, reason);
  }

  /**
   * A client packet of a blocked connection. Payload or SYN: replaced by a reset for the server
   * (a SYN dropped), and the client answered once. Payload-less segments pass: the server, its
   * connection reset, answers them with resets of its own.
   */
  private refuse(g: JudgedConn, v: TcpView, hw: Uint8Array): QueueVerdict {
    const syn = (v.flags & TCP_SYN) !== 0;
    if (v.payloadLength === 0 && !syn) return ACCEPT;
    if (!g.answered && hw.length >= 6) {
      g.answered = true;
      this.stats.answered++;
      const body = syn ? null : refusalFor(g.blockKind, g.blockRequest, g.blockReason || 'blocked', g.uid);
      this.sink.frame(answerClientFrame(v, hw, this.opts.ownMac, body));
    }
    return syn ? DROP : { accept: true, replacement: resetInPlaceOf(v) };
  }

  private row(g: JudgedConn, ts: number, action: string, request: string | null, reason: string): void {
    this.sink.log([ts, g.uid, g.orig, g.origP, g.resp, g.respP, action, request, reason, g.mode]);
  }
}
