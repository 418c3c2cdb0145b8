import { TcpFlag, type DecodedPacket } from '../decode/index.js';
import { connHash, icmpCounterpart } from './conn-hash.js';
import { LruList } from './conn-list.js';
import { UidGenerator } from './conn-uid.js';
import { Connection, type CloseReason, type Direction } from './connection.js';
import type { Endpoint, StreamHost } from './endpoint.js';
import { EndpointState as S, updateTcpState } from './tcp-state.js';
import { H_DATA, recordTcpHistory } from './tcp-history.js';

export interface ConnHandlers {
  /** In-order stream bytes `bytes[offset, offset+len)`; valid only during the call. */
  onData?(conn: Connection, dir: Direction, bytes: Uint8Array, offset: number, len: number): void;
  /** `len` stream bytes were skipped (lost or never seen). */
  onGap?(conn: Connection, dir: Direction, len: number): void;
  /** A UDP/ICMP payload `bytes[offset, offset+len)`; valid only during the call. */
  onDatagram?(conn: Connection, dir: Direction, bytes: Uint8Array, offset: number, len: number): void;
  onNew?(conn: Connection): void;
  /** The connection is finished and removed: log it. */
  onClose?(conn: Connection): void;
  /** Something odd, reported once per name per connection (Zeek's weird.log). */
  onWeird?(conn: Connection, name: string): void;
}

export interface ConnTrackerOptions {
  /** Seed for uids (default: random). */
  seed?: number;
  /** Connections tracked at once; the least recently active is evicted beyond it (default 100000). */
  maxConnections?: number;
  /** Out-of-order bytes buffered per connection, both directions (default 256 KiB). */
  maxBufferPerConn?: number;
  /** Out-of-order segments buffered per direction (default 1024). */
  maxSegmentsPerDir?: number;
  /** Out-of-order bytes buffered over all connections (default 64 MiB). */
  maxBufferTotal?: number;
  /** Delivered bytes kept per direction to compare retransmissions with (default 2048; 0 disables). */
  retainBytes?: number;
  /** Deliver TCP stream data (default true). */
  reassemble?: boolean;
  /** Idle timeouts in seconds. */
  tcpTimeout?: number;
  tcpAttemptTimeout?: number;
  udpTimeout?: number;
  icmpTimeout?: number;
  /** Seconds a closed or reset connection lingers for late packets (default 5). */
  closeDelay?: number;
  /** Ports that mark a server when the first packet seen is not a SYN (default: below 1024 plus a few). */
  serverPorts?: readonly number[];
}

export interface ConnTrackerStats {
  packets: number;
  /** Packets with a transport the tracker does not follow. */
  untracked: number;
  connections: number;
  active: number;
  closed: number;
  evicted: number;
  timedOut: number;
  gaps: number;
  missedBytes: number;
  overlaps: number;
  inconsistentOverlaps: number;
  /** Times the global buffer cap forced a connection to skip its holes. */
  bufferCapFlushes: number;
  /** Times a per-connection cap did. */
  connCapFlushes: number;
  bufferedBytes: number;
  peakBufferedBytes: number;
}

const LIST_TCP = 0;
const LIST_ATTEMPT = 1;
const LIST_CLOSING = 2;
const LIST_UDP = 3;
const LIST_ICMP = 4;

const DEFAULT_SERVER_PORTS = [1080, 1433, 1521, 2049, 3306, 4222, 5432, 5672, 6379, 6443, 8000, 8080, 8443, 9092, 9200, 11211, 27017];

/**
 * The connection table: finds the flow of each decoded packet, keeps Zeek-style state,
 * history and counters, reassembles TCP byte streams, and closes flows on FIN/RST, idle
 * timeout, eviction or flush, calling `onClose` so the caller can write conn.log.
 */
export class ConnTracker implements StreamHost {
  readonly stats: ConnTrackerStats = {
    packets: 0,
    untracked: 0,
    connections: 0,
    active: 0,
    closed: 0,
    evicted: 0,
    timedOut: 0,
    gaps: 0,
    missedBytes: 0,
    overlaps: 0,
    inconsistentOverlaps: 0,
    bufferCapFlushes: 0,
    connCapFlushes: 0,
    bufferedBytes: 0,
    peakBufferedBytes: 0,
  };
  readonly retainBytes: number;
  private readonly table = new Map<number, Connection>();
  private readonly lists = [
    new LruList<Connection>(LIST_TCP),
    new LruList<Connection>(LIST_ATTEMPT),
    new LruList<Connection>(LIST_CLOSING),
    new LruList<Connection>(LIST_UDP),
    new LruList<Connection>(LIST_ICMP),
  ];
  private readonly timeouts: number[];
  private readonly uids: UidGenerator;
  private readonly maxConnections: number;
  private readonly maxBufferPerConn: number;
  private readonly maxSegmentsPerDir: number;
  private readonly maxBufferTotal: number;
  private readonly reassemble: boolean;
  private readonly serverPorts: Set<number>;
  /** Connections holding buffered bytes, oldest first (for the global cap). */
  private readonly buffering = new Set<Connection>();
  private readonly ringPool: Uint8Array[] = [];
  private matchDir: Direction = 0;
  private nextExpiry = -Infinity;

  constructor(
    private readonly handlers: ConnHandlers = {},
    opts: ConnTrackerOptions = {},
  ) {
    this.uids = new UidGenerator(opts.seed);
    this.maxConnections = opts.maxConnections ?? 100000;
    this.maxBufferPerConn = opts.maxBufferPerConn ?? 256 * 1024;
    this.maxSegmentsPerDir = opts.maxSegmentsPerDir ?? 1024;
    this.maxBufferTotal = opts.maxBufferTotal ?? 64 * 1024 * 1024;
    this.retainBytes = opts.retainBytes ?? 2048;
    this.reassemble = opts.reassemble ?? true;
    this.serverPorts = new Set(opts.serverPorts ?? DEFAULT_SERVER_PORTS);
    const closeDelay = opts.closeDelay ?? 5;
    this.timeouts = [opts.tcpTimeout ?? 300, opts.tcpAttemptTimeout ?? 30, closeDelay, opts.udpTimeout ?? 60, opts.icmpTimeout ?? 60];
  }

  get size(): number {
    return this.stats.active;
  }

  /** Every tracked connection (allocates; not for the hot path). */
  connections(): Connection[] {
    const out: Connection[] = [];
    for (const l of this.lists) for (let c = l.head; c; c = c.lruNext) out.push(c);
    return out;
  }

  /** Account one decoded packet; returns its connection, or null for protocols not tracked. */
  process(dp: DecodedPacket): Connection | null {
    this.stats.packets++;
    const proto = dp.ipProto;
    const isIcmp = proto === 1 || proto === 58;
    if (proto !== 6 && proto !== 17 && !isIcmp) {
      this.stats.untracked++;
      return null;
    }
    const now = dp.ts;
    if (now >= this.nextExpiry) {
      this.expire(now);
      this.nextExpiry = now + 1;
    }
    const sport = isIcmp ? dp.icmpType : dp.srcPort;
    const dport = isIcmp ? icmpCounterpart(proto, dp.icmpType, dp.icmpCode) : dp.dstPort;
    const h = connHash(dp, sport, dport);
    let conn = this.find(h, dp, sport, dport);
    let dir = this.matchDir;
    if (
      conn !== null &&
      proto === 6 &&
      conn.lruList === LIST_CLOSING &&
      (dp.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === TcpFlag.SYN
    ) {
      // A fresh SYN on a finished connection starts a new one.
      this.close(conn, this.finishReason(conn));
      conn = null;
    }
    if (conn === null) {
      conn = this.create(h, dp, sport, dport);
      dir = this.matchDir;
    }
    conn.lastSeen = now;
    if (proto === 6) this.tcp(conn, dir, dp);
    else this.datagram(conn, dir, dp);
    this.touch(conn);
    return conn;
  }

  /** Close connections idle past their timeout at time `now`. */
  expire(now: number): void {
    for (let i = 0; i < this.lists.length; i++) {
      const list = this.lists[i];
      const limit = now - this.timeouts[i];
      while (list.tail && list.tail.lastSeen < limit) {
        const c = list.tail;
        if (i === LIST_CLOSING) this.close(c, this.finishReason(c));
        else {
          this.stats.timedOut++;
          this.close(c, 'timeout');
        }
      }
    }
  }

  /** Close every connection (end of input), oldest first. */
  flush(): void {
    const all = this.connections().sort((a, b) => a.startTs - b.startTs);
    for (const c of all) this.close(c, c.lruList === LIST_CLOSING ? this.finishReason(c) : 'flush');
  }

  // StreamHost

  deliver(conn: Connection, dir: Direction, buf: Uint8Array, off: number, len: number): void {
    this.handlers.onData?.(conn, dir, buf, off, len);
  }

  gap(conn: Connection, dir: Direction, len: number, atClose: boolean): void {
    conn.missedBytes += len;
    this.stats.gaps++;
    this.stats.missedBytes += len;
    if (!atClose) {
      const ep = dir === 0 ? conn.orig : conn.resp;
      if (++ep.gaps === ep.gapMark) {
        conn.addHistory(dir, 'g');
        ep.gapMark *= 10;
      }
    }
    this.handlers.onGap?.(conn, dir, len);
  }

  overlap(conn: Connection, _dir: Direction, differs: boolean): void {
    conn.overlaps++;
    this.stats.overlaps++;
    this.weird(conn, 'overlap');
    if (differs) {
      conn.inconsistentOverlaps++;
      this.stats.inconsistentOverlaps++;
      this.weird(conn, 'rexmit_inconsistency');
    }
  }

  buffered(conn: Connection, delta: number): void {
    conn.bufferedBytes += delta;
    const s = this.stats;
    s.bufferedBytes += delta;
    if (s.bufferedBytes > s.peakBufferedBytes) s.peakBufferedBytes = s.bufferedBytes;
    if (conn.bufferedBytes > 0) this.buffering.add(conn);
    else this.buffering.delete(conn);
  }

  takeRing(): Uint8Array {
    const ring = this.ringPool.pop();
    if (ring) return ring;
    // Carve rings out of one slab: one allocation instead of 64 small external buffers.
    const r = this.retainBytes;
    const slab = new ArrayBuffer(r * 64);
    for (let i = 1; i < 64; i++) this.ringPool.push(new Uint8Array(slab, i * r, r));
    return new Uint8Array(slab, 0, r);
  }

  returnRing(ring: Uint8Array): void {
    // Keep enough for a burst of connections, not a peak's worth forever.
    if (this.ringPool.length < 8192) this.ringPool.push(ring);
  }

  // internals

  weird(conn: Connection, name: string): void {
    if (conn.weirds?.includes(name)) return;
    conn.weirds ??= [];
    conn.weirds.push(name);
    this.handlers.onWeird?.(conn, name);
  }

  private find(h: number, dp: DecodedPacket, sport: number, dport: number): Connection | null {
    for (let c = this.table.get(h) ?? null; c !== null; c = c.hashNext) {
      if (c.proto !== dp.ipProto || c.vni !== dp.vni || c.ipVersion !== dp.ipVersion) continue;
      if (dp.ipVersion === 4) {
        if (c.origPort === sport && c.respPort === dport && c.origAddr4 === dp.src4 && c.respAddr4 === dp.dst4) {
          this.matchDir = 0;
          return c;
        }
        if (c.origPort === dport && c.respPort === sport && c.origAddr4 === dp.dst4 && c.respAddr4 === dp.src4) {
          this.matchDir = 1;
          return c;
        }
      } else {
        if (c.origPort === sport && c.respPort === dport && same6(c.origAddr6!, dp.src6) && same6(c.respAddr6!, dp.dst6)) {
          this.matchDir = 0;
          return c;
        }
        if (c.origPort === dport && c.respPort === sport && same6(c.origAddr6!, dp.dst6) && same6(c.respAddr6!, dp.src6)) {
          this.matchDir = 1;
          return c;
        }
      }
    }
    return null;
  }

  /** Decide who originated the flow from its first packet, then add it. Sets matchDir. */
  private create(h: number, dp: DecodedPacket, sport: number, dport: number): Connection {
    if (this.stats.active >= this.maxConnections) this.evictOne();
    let flip = false;
    if (dp.ipProto === 6) {
      const f = dp.tcpFlags;
      if ((f & TcpFlag.SYN) !== 0) flip = (f & TcpFlag.ACK) !== 0;
      else flip = this.looksLikeServer(sport, dport);
    } else if (dp.ipProto === 17) {
      flip = this.looksLikeServer(sport, dport);
    }
    const v6 = dp.ipVersion === 6;
    const c = flip
      ? new Connection(
          this.uids.next(),
          h,
          dp.ipProto,
          dp.ipVersion,
          dp.dst4,
          dp.src4,
          v6 ? dp.dst6.slice() : null,
          v6 ? dp.src6.slice() : null,
          dport,
          sport,
          dp.vni,
          dp.ts,
          true,
        )
      : new Connection(
          this.uids.next(),
          h,
          dp.ipProto,
          dp.ipVersion,
          dp.src4,
          dp.dst4,
          v6 ? dp.src6.slice() : null,
          v6 ? dp.dst6.slice() : null,
          sport,
          dport,
          dp.vni,
          dp.ts,
          false,
        );
    if (flip) c.history = '^';
    c.hashNext = this.table.get(h) ?? null;
    this.table.set(h, c);
    this.stats.connections++;
    this.stats.active++;
    this.matchDir = flip ? 1 : 0;
    this.lists[this.listFor(c)].pushFront(c);
    this.handlers.onNew?.(c);
    return c;
  }

  private looksLikeServer(sport: number, dport: number): boolean {
    const sServer = sport < 1024 || this.serverPorts.has(sport);
    const dServer = dport < 1024 || this.serverPorts.has(dport);
    return sServer && !dServer;
  }

  /** Make room: finished connections go first, then the least recently active. */
  private evictOne(): void {
    let victim = this.lists[LIST_CLOSING].tail;
    if (!victim) {
      for (const l of this.lists) {
        const t = l.tail;
        if (t && (!victim || t.lastSeen < victim.lastSeen)) victim = t;
      }
    }
    if (!victim) return;
    if (victim.lruList === LIST_CLOSING) this.close(victim, this.finishReason(victim));
    else {
      this.stats.evicted++;
      this.close(victim, 'evicted');
    }
  }

  private finishReason(c: Connection): CloseReason {
    if (c.orig.state === S.RESET || c.resp.state === S.RESET) return 'rst';
    if (c.orig.state === S.CLOSED || c.resp.state === S.CLOSED) return 'fin';
    return 'timeout';
  }

  private close(c: Connection, reason: CloseReason): void {
    if (c.closeReason !== null) return;
    c.closeReason = reason;
    if (this.reassemble && c.proto === 6) {
      c.orig.drain(this);
      c.resp.drain(this);
      c.orig.release(this);
      c.resp.release(this);
    }
    // unlink from the hash chain
    const head = this.table.get(c.hash);
    if (head === c) {
      if (c.hashNext) this.table.set(c.hash, c.hashNext);
      else this.table.delete(c.hash);
    } else {
      for (let p: Connection | null = head ?? null; p; p = p.hashNext) {
        if (p.hashNext === c) {
          p.hashNext = c.hashNext;
          break;
        }
      }
    }
    c.hashNext = null;
    if (c.lruList >= 0) this.lists[c.lruList].remove(c);
    this.buffering.delete(c);
    this.stats.active--;
    this.stats.closed++;
    this.handlers.onClose?.(c);
  }

  private listFor(c: Connection): number {
    if (c.proto === 17) return LIST_UDP;
    if (c.proto !== 6) return LIST_ICMP;
    const os = c.orig.state;
    const rs = c.resp.state;
    if (os === S.RESET || rs === S.RESET) return LIST_CLOSING;
    if (os === S.CLOSED && (rs === S.CLOSED || rs === S.INACTIVE)) return LIST_CLOSING;
    if (rs === S.CLOSED && (os === S.CLOSED || os === S.INACTIVE)) return LIST_CLOSING;
    if (os === S.SYN_SENT && rs === S.INACTIVE) return LIST_ATTEMPT;
    return LIST_TCP;
  }

  private touch(c: Connection): void {
    if (c.closeReason !== null) return;
    const want = this.listFor(c);
    if (c.lruList === want) this.lists[want].moveToFront(c);
    else {
      if (c.lruList >= 0) this.lists[c.lruList].remove(c);
      this.lists[want].pushFront(c);
    }
  }

  private datagram(c: Connection, dir: Direction, dp: DecodedPacket): void {
    const ep = dir === 0 ? c.orig : c.resp;
    const len = dp.payloadLength;
    ep.pkts++;
    ep.ipBytes += dp.ipLen;
    ep.payloadBytes += len;
    ep.state = S.ACTIVE;
    c.lastTs = dp.ts;
    if (c.proto === 17 && len > 0) c.recordOnce(dir, H_DATA, 'd');
    if (len > 0) this.handlers.onDatagram?.(c, dir, dp.buf, dp.payloadOffset, len);
  }

  private tcp(c: Connection, dir: Direction, dp: DecodedPacket): void {
    const ep = dir === 0 ? c.orig : c.resp;
    const peer = dir === 0 ? c.resp : c.orig;
    const flags = dp.tcpFlags;
    const len = dp.payloadLength;
    const seq = dp.seq;
    const syn = (flags & TcpFlag.SYN) !== 0;
    const fin = (flags & TcpFlag.FIN) !== 0;
    const rst = (flags & TcpFlag.RST) !== 0;
    const ack = (flags & TcpFlag.ACK) !== 0;

    ep.pkts++;
    ep.ipBytes += dp.ipLen;
    ep.payloadBytes += len;
    if (!(isDone(c.orig.state) && isDone(c.resp.state))) c.lastTs = dp.ts;

    const dataSeq = syn ? (seq + 1) >>> 0 : seq;
    if (!ep.hasSeq) ep.initSeq(dataSeq);
    else if (syn && ep.next === 0 && ep.segs.length === 0 && ep.offsetOf(dataSeq) !== 0) {
      // A SYN with a new ISN before any data: the earlier attempt was abandoned.
      this.weird(c, 'SYN_seq_jump');
      ep.initSeq(dataSeq);
    }
    const off = ep.offsetOf(dataSeq);

    recordTcpHistory(c, dir, ep, flags, seq, len);
    if (len > 0 && !rst) {
      if (off + len <= ep.maxEnd) {
        if (++ep.rexmits === ep.rexmitMark) {
          c.addHistory(dir, 't');
          ep.rexmitMark *= 10;
        }
      } else ep.maxEnd = off + len;
    }
    if (dp.window === 0 && !rst && !syn && peer.state !== S.CLOSED && ep.state !== S.RESET) {
      if (++ep.zeroWindows === ep.zeroWindowMark) {
        c.addHistory(dir, 'w');
        ep.zeroWindowMark *= 10;
      }
    }

    updateTcpState(this, c, dir, ep, peer, flags, len);

    if (this.reassemble) {
      if (len > 0 && !rst) {
        if (off - ep.next > 0x40000000) this.weird(c, 'TCP_seq_jump');
        else {
          ep.segment(this, off, dp.buf, dp.payloadOffset, len);
          if (ep.segs.length > 0) this.enforceCaps(c, ep);
        }
      }
      if (fin && !rst) {
        const finOff = off + len;
        if (!ep.finSeen || finOff > ep.finOffset) ep.finOffset = finOff;
        ep.finSeen = true;
      }
      if (ack && !rst && peer.hasSeq) peer.ackTo(this, dp.ack);
    } else if (fin) {
      ep.finSeen = true;
    }
  }

  private enforceCaps(c: Connection, ep: Endpoint): void {
    while (ep.segs.length > 0 && (c.bufferedBytes > this.maxBufferPerConn || ep.segs.length > this.maxSegmentsPerDir)) {
      this.stats.connCapFlushes++;
      ep.skipToFirst(this);
    }
    if (this.stats.bufferedBytes <= this.maxBufferTotal) return;
    for (const victim of this.buffering) {
      if (this.stats.bufferedBytes <= this.maxBufferTotal) break;
      this.stats.bufferCapFlushes++;
      while (victim.orig.segs.length > 0) victim.orig.skipToFirst(this);
      while (victim.resp.segs.length > 0) victim.resp.skipToFirst(this);
    }
  }
}

function isDone(s: number): boolean {
  return s === S.CLOSED || s === S.RESET;
}

function same6(a: Uint32Array, b: Uint32Array): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}
