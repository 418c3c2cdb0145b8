import { INLINE_TIMEOUTS, inlineCommands, type FailMode, type InlineCommands, type InlineTuple } from '../../dataplane/index.js';
import type { DecodedPacket } from '../decode/index.js';
import type { LogValue } from '../logs/index.js';
import type { Decision } from '../policy/index.js';
import type { Connection } from '../tcp/index.js';
import { frameTag } from './frame-tag.js';

export interface InlineGateOptions {
  /** Seconds client payload may wait for a verdict; then the flow's failMode decides (a capture that missed it, a stuck parser). */
  holdTimeout: number;
  /** Overload: more connections than this waiting for a verdict... */
  maxHeldConnections: number;
  /** ...or the capture running this many seconds behind the wire... */
  maxLag: number;
  /** ...or this many bytes of nft commands not yet taken by nft. */
  maxCommandBacklog: number;
  /** Seconds without a packet after which a connection's state is forgotten (its nft elements expire on their own). */
  idleTimeout: number;
  /** Whether the engine parses requests of this responder (else a connection can only be judged as a whole). */
  hasParser: (respIp: string, respPort: number) => boolean;
  commands?: InlineCommands;
}

const DEFAULT_INLINE_GATE_OPTIONS: Omit<InlineGateOptions, 'hasParser'> = {
  holdTimeout: 5,
  maxHeldConnections: 1024,
  maxLag: 2,
  maxCommandBacklog: 1 << 20,
  idleTimeout: 120,
};

/** Where the gate's effects go: nft commands for its namespace's table, rows for inline.log. */
export interface GateSink {
  command(line: string): void;
  log(row: readonly LogValue[]): void;
}

export interface InlineGateStats {
  connections: number;
  passed: number;
  blocked: number;
  approvals: number;
  timeouts: number;
  fallbacks: number;
}

type Verdict = 'inspect' | 'pass' | 'block';

/** One redirected TCP connection. Client = the tracker's originator. */
class GateConn {
  verdict: Verdict = 'inspect';
  mode: FailMode = 'closed';
  /** Client segments seen and not yet approved: seq, length pairs. */
  held: number[] = [];
  heldSince = 0;
  /** Sequence numbers approved, and when (an approval is re-sent only once its element may have expired). */
  readonly approved = new Map<number, number>();
  /** When each direction's `free` element was last (re)added. */
  freeC2s = -Infinity;
  freeS2c = -Infinity;
  lastSeen = 0;

  constructor(
    readonly uid: string,
    readonly c2s: InlineTuple,
    readonly s2c: InlineTuple,
  ) {}
}

const SEQ_HALF = 0x80000000;
/** a <= b in sequence space. */
const seqLE = (a: number, b: number): boolean => (b - a) >>> 0 < SEQ_HALF;
const MAX_APPROVALS_KEPT = 64;

/**
 * The inline monitor's decisions, as a pure state machine: fed the packets the engine tracked
 * (after it parsed them) and the policies' decisions, it emits nft commands for the monitor
 * namespace's table (dataplane/nft-inline.ts) and inline.log rows.
 *
 * Every client segment of a redirected connection is held by the kernel until approved here.
 * A segment is approved once the engine has taken all its bytes in order and the connection is
 * not blocked: the verdicts on whatever those bytes completed (an HTTP head, a SQL query, a NATS
 * PUB/SUB) were taken synchronously while the engine handled them, before this sees the packet.
 * A segment that completes a disallowed request therefore never passes: the connection is
 * blocked and the client's retransmission gets a reset. A segment holding only part of a
 * request passes once taken: a server cannot act on part of a message.
 * A protocol oddity in what the client sent, or a retransmission that differs from what was
 * judged, blocks: the monitor passes only what it could parse.
 * Connections first seen mid-stream (a monitor restart) and held data that gets no verdict in
 * `holdTimeout` follow the flow's failMode, as does everything while the monitor is overloaded
 * (`fallback`: the runner stops keeping the namespace's `alive` element, the kernel falls back).
 */
export class InlineGate {
  readonly opts: InlineGateOptions;
  private readonly cmd: InlineCommands;
  private readonly conns = new Map<string, GateConn>();
  /** Decisions taken while the engine handled the current frame, for a connection not seen yet. */
  private frameDecisions: Decision[] = [];
  /** Oddities raised while the engine handled the current frame: uid, description pairs. */
  private frameWeirds: string[] = [];
  private lag = 0;
  private lastPacketAt = 0;
  private backlog = 0;
  private overloadWhy: string | null = null;
  readonly stats: InlineGateStats = { connections: 0, passed: 0, blocked: 0, approvals: 0, timeouts: 0, fallbacks: 0 };

  constructor(
    opts: Partial<Omit<InlineGateOptions, 'hasParser'>> & Pick<InlineGateOptions, 'hasParser'>,
    private readonly sink: GateSink,
  ) {
    this.opts = { ...DEFAULT_INLINE_GATE_OPTIONS, ...opts };
    this.cmd = opts.commands ?? inlineCommands();
  }

  /** True while the kernel's failMode fallback is in force by the gate's own choice (overload). */
  get fallback(): boolean {
    return this.overloadWhy !== null;
  }

  /** A verdict from the policies (engine's MonitorPolicy.decisions). */
  decision(d: Decision): void {
    const g = this.conns.get(d.uid);
    if (g) this.apply(g, d);
    else this.frameDecisions.push(d);
  }

  /**
   * A protocol oddity on a connection (engine observer). It refers to the data of the frame
   * being handled, whose direction `packet` knows: judged there.
   */
  weird(uid: string, name: string, source: string): void {
    if (source === 'DECODE' || (source === 'TCP' && name !== 'rexmit_inconsistency')) return;
    this.frameWeirds.push(uid, `${source} ${name}`);
  }

  /** A frame the engine tracked; `now` is wall-clock seconds. */
  packet(dp: DecodedPacket, conn: Connection | null, frame: Uint8Array, now: number): void {
    const decided = this.frameDecisions;
    const weirds = this.frameWeirds;
    this.frameDecisions = [];
    this.frameWeirds = [];
    this.lag = now - dp.ts;
    this.lastPacketAt = now;
    if (conn === null || conn.proto !== 6 || dp.ipVersion !== 4) return;
    let g = this.conns.get(conn.uid);
    const tag = frameTag(dp.linktype, frame);
    if (tag === null) return;
    const fromClient = isFromClient(dp, conn);
    if (!g) g = this.open(conn, dp, fromClient, tag.mode, decided, now);
    g.mode = tag.mode;
    g.lastSeen = now;
    // Only what the client sent matters; oddities in the server's answers do not.
    if (fromClient && g.verdict === 'inspect')
      for (let i = 0; i < weirds.length; i += 2)
        if (weirds[i] === g.uid) {
          this.block(g, dp.ts, `${weirds[i + 1]}: the monitor passes only what it could parse`, null);
          break;
        }
    if (!fromClient) {
      if (dp.payloadLength > 0 && now - g.freeS2c > INLINE_TIMEOUTS.free / 2) this.free(g, 's2c', now);
      return;
    }
    if (dp.payloadLength === 0) return;
    if (g.verdict === 'pass') {
      if (now - g.freeC2s > INLINE_TIMEOUTS.free / 2) this.free(g, 'c2s', now);
      return;
    }
    if (g.verdict === 'block') return;
    this.hold(g, dp.seq >>> 0, dp.payloadLength, now);
    this.settle(g, conn, now);
  }

  /** Timed work: overload, hold timeouts, forgetting idle connections. `backlog`: bytes of commands nft has not taken yet. */
  tick(now: number, backlog = this.backlog): void {
    this.backlog = backlog;
    if (now - this.lastPacketAt > 1) this.lag = 0;
    let held = 0;
    for (const [uid, g] of this.conns) {
      if (now - g.lastSeen > this.opts.idleTimeout) {
        this.conns.delete(uid);
        continue;
      }
      if (g.verdict !== 'inspect' || g.held.length === 0) continue;
      if (now - g.heldSince > this.opts.holdTimeout) {
        this.stats.timeouts++;
        this.failMode(g, now, `no verdict within ${this.opts.holdTimeout}s`);
      } else held++;
    }
    this.checkOverload(now, held);
  }

  /** State of the gate, for the run report. */
  get openConnections(): number {
    return this.conns.size;
  }

  // internals

  private open(conn: Connection, dp: DecodedPacket, fromClient: boolean, mode: FailMode, decided: Decision[], now: number): GateConn {
    const c2s: InlineTuple = { src: conn.origAddress, sport: conn.origPort, dst: conn.respAddress, dport: conn.respPort };
    const g = new GateConn(conn.uid, c2s, { src: c2s.dst, sport: c2s.dport, dst: c2s.src, dport: c2s.sport });
    g.mode = mode;
    g.lastSeen = now;
    this.conns.set(conn.uid, g);
    this.stats.connections++;
    this.free(g, 's2c', now);
    const handshake = fromClient && (dp.tcpFlags & 0x12) === 0x02;
    if (!handshake) this.failMode(g, dp.ts, 'picked up mid-stream: its earlier requests were not seen');
    for (const d of decided) if (d.uid === g.uid) this.apply(g, d);
    if (g.verdict === 'inspect' && !this.opts.hasParser(c2s.dst, c2s.dport)) {
      g.verdict = 'pass';
      this.free(g, 'c2s', now);
      this.stats.passed++;
      this.row(g, dp.ts, 'pass', `tcp connection to port ${c2s.dport}`, 'no request parser for this port: allowed as a connection');
    }
    return g;
  }

  private apply(g: GateConn, d: Decision): void {
    if (g.verdict === 'block') return;
    if (!d.allowed) this.block(g, d.ts, d.reason, d.request);
    else if (d.kind !== 'connection') {
      this.stats.passed++;
      if (this.overloadWhy !== null) this.row(g, d.ts, g.mode === 'open' ? 'pass' : 'block', d.request, this.fallbackReason(g, d.reason));
      else this.row(g, d.ts, 'pass', d.request, d.reason);
    }
  }

  private block(g: GateConn, ts: number, reason: string, request: string | null): void {
    g.verdict = 'block';
    g.held = [];
    this.stats.blocked++;
    this.sink.command(this.cmd.block(g.c2s));
    this.row(g, ts, 'block', request, reason);
  }

  /** The flow's failMode decides for the whole connection. */
  private failMode(g: GateConn, ts: number, why: string): void {
    if (g.mode === 'open') {
      g.verdict = 'pass';
      g.held = [];
      this.free(g, 'c2s', ts);
      this.stats.passed++;
      this.row(g, ts, 'pass', null, `${why}: fail-open`);
    } else this.block(g, ts, `${why}: fail-closed`, null);
  }

  private free(g: GateConn, dir: 'c2s' | 's2c', now: number): void {
    if (dir === 'c2s') {
      g.freeC2s = now;
      this.sink.command(this.cmd.free(g.c2s));
    } else {
      g.freeS2c = now;
      this.sink.command(this.cmd.free(g.s2c));
    }
  }

  private hold(g: GateConn, seq: number, len: number, now: number): void {
    const h = g.held;
    for (let i = 0; i < h.length; i += 2) if (h[i] === seq && h[i + 1] === len) return;
    if (h.length === 0) g.heldSince = now;
    h.push(seq, len);
  }

  /** Approves every held segment the engine has taken in full. */
  private settle(g: GateConn, conn: Connection, now: number): void {
    const ep = conn.orig;
    if (!ep.hasSeq) return;
    const h = g.held;
    const before = h.length;
    let kept = 0;
    for (let i = 0; i < h.length; i += 2) {
      if (seqLE((h[i] + h[i + 1]) >>> 0, ep.nextSeq >>> 0)) this.approve(g, h[i], now);
      else {
        h[kept++] = h[i];
        h[kept++] = h[i + 1];
      }
    }
    h.length = kept;
    // Progress: what is still held waits from now.
    if (kept > 0 && kept < before) g.heldSince = now;
  }

  private approve(g: GateConn, seq: number, now: number): void {
    // While overloaded the kernel ignores approvals; the client's retransmission is approved afresh later.
    if (this.overloadWhy !== null) return;
    const last = g.approved.get(seq);
    if (last !== undefined && now - last < INLINE_TIMEOUTS.pass / 2) return;
    g.approved.set(seq, now);
    if (g.approved.size > MAX_APPROVALS_KEPT) g.approved.delete(g.approved.keys().next().value as number);
    this.stats.approvals++;
    this.sink.command(this.cmd.pass(g.c2s, seq));
  }

  private checkOverload(now: number, held: number): void {
    const o = this.opts;
    const why =
      held > o.maxHeldConnections
        ? `${held} connections wait for a verdict (bound ${o.maxHeldConnections})`
        : this.lag > o.maxLag
          ? `the capture is ${this.lag.toFixed(1)}s behind (bound ${o.maxLag}s)`
          : this.backlog > o.maxCommandBacklog
            ? `${this.backlog} bytes of verdicts wait for nft (bound ${o.maxCommandBacklog})`
            : null;
    if (why !== null && this.overloadWhy === null) {
      this.overloadWhy = why;
      this.stats.fallbacks++;
      this.sink.command(this.cmd.fallback());
      this.sink.log([
        now,
        null,
        null,
        null,
        null,
        null,
        'fallback',
        null,
        `overloaded: ${why}; every redirected flow follows its failMode`,
        null,
      ]);
    } else if (
      this.overloadWhy !== null &&
      held <= o.maxHeldConnections / 2 &&
      this.lag <= o.maxLag / 2 &&
      this.backlog <= o.maxCommandBacklog / 2
    ) {
      this.overloadWhy = null;
      this.sink.log([
        now,
        null,
        null,
        null,
        null,
        null,
        'live',
        null,
        'load back under half of every bound: verdicts in force again',
        null,
      ]);
    }
  }

  private fallbackReason(g: GateConn, said: string): string {
    return `monitor overloaded (${this.overloadWhy}): fail-${g.mode}; the policy said: ${said}`;
  }

  private row(g: GateConn, ts: number, action: string, request: string | null, reason: string): void {
    this.sink.log([ts, g.uid, g.c2s.src, g.c2s.sport, g.c2s.dst, g.c2s.dport, action, request, reason, g.mode]);
  }
}

function isFromClient(dp: DecodedPacket, conn: Connection): boolean {
  return dp.srcPort === conn.origPort && dp.src4 === conn.origAddr4;
}
