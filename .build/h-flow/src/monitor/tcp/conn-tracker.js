import { TcpFlag } from '../decode/index.js';
import { connHash, icmpCounterpart } from './conn-hash.js';
import { LruList } from './conn-list.js';
import { UidGenerator } from './conn-uid.js';
import { Connection } from './connection.js';
import { EndpointState as S } from './tcp-state.js';
const LIST_TCP = 0;
const LIST_ATTEMPT = 1;
const LIST_CLOSING = 2;
const LIST_UDP = 3;
const LIST_ICMP = 4;
// history bits (per direction)
const H_SYN = 1 << 0;
const H_FIN = 1 << 1;
const H_RST = 1 << 2;
const H_ACK = 1 << 3;
const H_DATA = 1 << 4;
const H_INCONSISTENT = 1 << 5;
const H_MULTI = 1 << 6;
const DEFAULT_SERVER_PORTS = [1080, 1433, 1521, 2049, 3306, 4222, 5432, 5672, 6379, 6443, 8000, 8080, 8443, 9092, 9200, 11211, 27017];
/**
 * The connection table: finds the flow of each decoded packet, keeps Zeek-style state,
 * history and counters, reassembles TCP byte streams, and closes flows on FIN/RST, idle
 * timeout, eviction or flush, calling `onClose` so the caller can write conn.log.
 */
export class ConnTracker {
    handlers;
    stats = {
        packets: 0, untracked: 0, connections: 0, active: 0, closed: 0, evicted: 0, timedOut: 0, gaps: 0, missedBytes: 0,
        overlaps: 0, inconsistentOverlaps: 0, bufferCapFlushes: 0, connCapFlushes: 0, bufferedBytes: 0, peakBufferedBytes: 0,
    };
    retainBytes;
    table = new Map();
    lists = [new LruList(LIST_TCP), new LruList(LIST_ATTEMPT), new LruList(LIST_CLOSING), new LruList(LIST_UDP), new LruList(LIST_ICMP)];
    timeouts;
    uids;
    maxConnections;
    maxBufferPerConn;
    maxSegmentsPerDir;
    maxBufferTotal;
    reassemble;
    serverPorts;
    /** Connections holding buffered bytes, oldest first (for the global cap). */
    buffering = new Set();
    matchDir = 0;
    nextExpiry = -Infinity;
    constructor(handlers = {}, opts = {}) {
        this.handlers = handlers;
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
    get size() {
        return this.stats.active;
    }
    /** Every tracked connection (allocates; not for the hot path). */
    connections() {
        const out = [];
        for (const l of this.lists)
            for (let c = l.head; c; c = c.lruNext)
                out.push(c);
        return out;
    }
    /** Account one decoded packet; returns its connection, or null for protocols not tracked. */
    process(dp) {
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
        if (conn !== null && proto === 6 && conn.lruList === LIST_CLOSING && (dp.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === TcpFlag.SYN) {
            // A fresh SYN on a finished connection starts a new one.
            this.close(conn, 'reused');
            conn = null;
        }
        if (conn === null) {
            conn = this.create(h, dp, sport, dport);
            dir = this.matchDir;
        }
        conn.lastSeen = now;
        if (proto === 6)
            this.tcp(conn, dir, dp);
        else
            this.datagram(conn, dir, dp);
        this.touch(conn);
        return conn;
    }
    /** Close connections idle past their timeout at time `now`. */
    expire(now) {
        for (let i = 0; i < this.lists.length; i++) {
            const list = this.lists[i];
            const limit = now - this.timeouts[i];
            while (list.tail && list.tail.lastSeen < limit) {
                const c = list.tail;
                if (i === LIST_CLOSING)
                    this.close(c, this.finishReason(c));
                else {
                    this.stats.timedOut++;
                    this.close(c, 'timeout');
                }
            }
        }
    }
    /** Close every connection (end of input), oldest first. */
    flush() {
        const all = this.connections().sort((a, b) => a.startTs - b.startTs);
        for (const c of all)
            this.close(c, c.lruList === LIST_CLOSING ? this.finishReason(c) : 'flush');
    }
    // StreamHost
    deliver(conn, dir, buf, off, len) {
        this.handlers.onData?.(conn, dir, buf, off, len);
    }
    gap(conn, dir, len, atClose) {
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
    overlap(conn, dir, differs) {
        conn.overlaps++;
        this.stats.overlaps++;
        this.weird(conn, 'overlap');
        if (differs) {
            conn.inconsistentOverlaps++;
            this.stats.inconsistentOverlaps++;
            this.weird(conn, 'rexmit_inconsistency');
        }
    }
    buffered(conn, delta) {
        conn.bufferedBytes += delta;
        const s = this.stats;
        s.bufferedBytes += delta;
        if (s.bufferedBytes > s.peakBufferedBytes)
            s.peakBufferedBytes = s.bufferedBytes;
        if (conn.bufferedBytes > 0)
            this.buffering.add(conn);
        else
            this.buffering.delete(conn);
    }
    // internals
    weird(conn, name) {
        if (conn.weirds?.includes(name))
            return;
        (conn.weirds ??= []).push(name);
        this.handlers.onWeird?.(conn, name);
    }
    find(h, dp, sport, dport) {
        for (let c = this.table.get(h) ?? null; c !== null; c = c.hashNext) {
            if (c.proto !== dp.ipProto || c.vni !== dp.vni || c.ipVersion !== dp.ipVersion)
                continue;
            if (dp.ipVersion === 4) {
                if (c.origPort === sport && c.respPort === dport && c.origAddr4 === dp.src4 && c.respAddr4 === dp.dst4) {
                    this.matchDir = 0;
                    return c;
                }
                if (c.origPort === dport && c.respPort === sport && c.origAddr4 === dp.dst4 && c.respAddr4 === dp.src4) {
                    this.matchDir = 1;
                    return c;
                }
            }
            else {
                if (c.origPort === sport && c.respPort === dport && same6(c.origAddr6, dp.src6) && same6(c.respAddr6, dp.dst6)) {
                    this.matchDir = 0;
                    return c;
                }
                if (c.origPort === dport && c.respPort === sport && same6(c.origAddr6, dp.dst6) && same6(c.respAddr6, dp.src6)) {
                    this.matchDir = 1;
                    return c;
                }
            }
        }
        return null;
    }
    /** Decide who originated the flow from its first packet, then add it. Sets matchDir. */
    create(h, dp, sport, dport) {
        if (this.stats.active >= this.maxConnections)
            this.evictOne();
        let flip = false;
        if (dp.ipProto === 6) {
            const f = dp.tcpFlags;
            if ((f & TcpFlag.SYN) !== 0)
                flip = (f & TcpFlag.ACK) !== 0;
            else
                flip = this.looksLikeServer(sport, dport);
        }
        else if (dp.ipProto === 17) {
            flip = this.looksLikeServer(sport, dport);
        }
        const v6 = dp.ipVersion === 6;
        const c = flip
            ? new Connection(this.uids.next(), h, dp.ipProto, dp.ipVersion, dp.dst4, dp.src4, v6 ? dp.dst6.slice() : null, v6 ? dp.src6.slice() : null, dport, sport, dp.vni, dp.ts, true)
            : new Connection(this.uids.next(), h, dp.ipProto, dp.ipVersion, dp.src4, dp.dst4, v6 ? dp.src6.slice() : null, v6 ? dp.dst6.slice() : null, sport, dport, dp.vni, dp.ts, false);
        if (flip)
            c.history = '^';
        c.hashNext = this.table.get(h) ?? null;
        this.table.set(h, c);
        this.stats.connections++;
        this.stats.active++;
        this.matchDir = flip ? 1 : 0;
        this.lists[this.listFor(c)].pushFront(c);
        this.handlers.onNew?.(c);
        return c;
    }
    looksLikeServer(sport, dport) {
        const sServer = sport < 1024 || this.serverPorts.has(sport);
        const dServer = dport < 1024 || this.serverPorts.has(dport);
        return sServer && !dServer;
    }
    /** Make room: finished connections go first, then the least recently active. */
    evictOne() {
        let victim = this.lists[LIST_CLOSING].tail;
        if (!victim) {
            for (const l of this.lists) {
                const t = l.tail;
                if (t && (!victim || t.lastSeen < victim.lastSeen))
                    victim = t;
            }
        }
        if (!victim)
            return;
        if (victim.lruList === LIST_CLOSING)
            this.close(victim, this.finishReason(victim));
        else {
            this.stats.evicted++;
            this.close(victim, 'evicted');
        }
    }
    finishReason(c) {
        if (c.orig.state === S.RESET || c.resp.state === S.RESET)
            return 'rst';
        if (c.orig.state === S.CLOSED || c.resp.state === S.CLOSED)
            return 'fin';
        return 'timeout';
    }
    close(c, reason) {
        if (c.closeReason !== null)
            return;
        c.closeReason = reason;
        if (this.reassemble && c.proto === 6) {
            c.orig.drain(this);
            c.resp.drain(this);
        }
        // unlink from the hash chain
        const head = this.table.get(c.hash);
        if (head === c) {
            if (c.hashNext)
                this.table.set(c.hash, c.hashNext);
            else
                this.table.delete(c.hash);
        }
        else {
            for (let p = head ?? null; p; p = p.hashNext) {
                if (p.hashNext === c) {
                    p.hashNext = c.hashNext;
                    break;
                }
            }
        }
        c.hashNext = null;
        if (c.lruList >= 0)
            this.lists[c.lruList].remove(c);
        this.buffering.delete(c);
        this.stats.active--;
        this.stats.closed++;
        this.handlers.onClose?.(c);
    }
    listFor(c) {
        if (c.proto === 17)
            return LIST_UDP;
        if (c.proto !== 6)
            return LIST_ICMP;
        const os = c.orig.state;
        const rs = c.resp.state;
        if (os === S.RESET || rs === S.RESET)
            return LIST_CLOSING;
        if (os === S.CLOSED && (rs === S.CLOSED || rs === S.INACTIVE))
            return LIST_CLOSING;
        if (rs === S.CLOSED && (os === S.CLOSED || os === S.INACTIVE))
            return LIST_CLOSING;
        if (os === S.SYN_SENT && rs === S.INACTIVE)
            return LIST_ATTEMPT;
        return LIST_TCP;
    }
    touch(c) {
        if (c.closeReason !== null)
            return;
        const want = this.listFor(c);
        if (c.lruList === want)
            this.lists[want].moveToFront(c);
        else {
            if (c.lruList >= 0)
                this.lists[c.lruList].remove(c);
            this.lists[want].pushFront(c);
        }
    }
    datagram(c, dir, dp) {
        const ep = dir === 0 ? c.orig : c.resp;
        const len = dp.payloadLength;
        ep.pkts++;
        ep.ipBytes += dp.ipLen;
        ep.payloadBytes += len;
        ep.state = S.ACTIVE;
        c.lastTs = dp.ts;
        if (c.proto === 17 && len > 0)
            c.recordOnce(dir, H_DATA, 'd');
        if (len > 0)
            this.handlers.onDatagram?.(c, dir, dp.buf, dp.payloadOffset, len);
    }
    tcp(c, dir, dp) {
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
        if (!(isDone(c.orig.state) && isDone(c.resp.state)))
            c.lastTs = dp.ts;
        const dataSeq = syn ? (seq + 1) >>> 0 : seq;
        if (!ep.hasSeq)
            ep.initSeq(dataSeq);
        else if (syn && ep.next === 0 && ep.segs.length === 0 && ep.offsetOf(dataSeq) !== 0) {
            // A SYN with a new ISN before any data: the earlier attempt was abandoned.
            this.weird(c, 'SYN_seq_jump');
            ep.initSeq(dataSeq);
        }
        const off = ep.offsetOf(dataSeq);
        this.history(c, dir, ep, flags, seq, len);
        if (len > 0 && !rst) {
            if (off + len <= ep.maxEnd) {
                if (++ep.rexmits === ep.rexmitMark) {
                    c.addHistory(dir, 't');
                    ep.rexmitMark *= 10;
                }
            }
            else
                ep.maxEnd = off + len;
        }
        if (dp.window === 0 && !rst && !syn && peer.state !== S.CLOSED && ep.state !== S.RESET) {
            if (++ep.zeroWindows === ep.zeroWindowMark) {
                c.addHistory(dir, 'w');
                ep.zeroWindowMark *= 10;
            }
        }
        this.updateState(c, dir, ep, peer, flags, len);
        if (this.reassemble) {
            if (len > 0 && !rst) {
                if (off - ep.next > 0x40000000)
                    this.weird(c, 'TCP_seq_jump');
                else {
                    ep.segment(this, off, dp.buf, dp.payloadOffset, len);
                    if (ep.segs.length > 0)
                        this.enforceCaps(c, ep);
                }
            }
            if (fin && !rst) {
                const finOff = off + len;
                if (!ep.finSeen || finOff > ep.finOffset)
                    ep.finOffset = finOff;
                ep.finSeen = true;
            }
            if (ack && !rst && peer.hasSeq)
                peer.ackTo(this, dp.ack);
        }
        else if (fin) {
            ep.finSeen = true;
        }
    }
    enforceCaps(c, ep) {
        while (ep.segs.length > 0 && (c.bufferedBytes > this.maxBufferPerConn || ep.segs.length > this.maxSegmentsPerDir)) {
            this.stats.connCapFlushes++;
            ep.skipToFirst(this);
        }
        if (this.stats.bufferedBytes <= this.maxBufferTotal)
            return;
        for (const victim of this.buffering) {
            if (this.stats.bufferedBytes <= this.maxBufferTotal)
                break;
            this.stats.bufferCapFlushes++;
            while (victim.orig.segs.length > 0)
                victim.orig.skipToFirst(this);
            while (victim.resp.segs.length > 0)
                victim.resp.skipToFirst(this);
        }
    }
    /** Zeek's history letters for one TCP packet. */
    history(c, dir, ep, flags, seq, len) {
        const syn = flags & TcpFlag.SYN;
        const fin = flags & TcpFlag.FIN;
        const rst = flags & TcpFlag.RST;
        const bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
        if (bits > 1) {
            if (fin && rst)
                c.recordOnce(dir, H_INCONSISTENT, 'i');
            else
                c.recordOnce(dir, H_MULTI, 'q');
            return;
        }
        if (bits === 1) {
            if (syn) {
                const letter = flags & TcpFlag.ACK ? 'h' : 's';
                if (c.recordOnce(dir, H_SYN, letter) && seq !== ep.lastSynSeq)
                    c.addHistory(dir, letter);
                ep.lastSynSeq = seq;
            }
            else if (fin) {
                const at = (seq + len) >>> 0;
                if (c.recordOnce(dir, H_FIN, 'f') && at !== ep.lastFinSeq)
                    c.addHistory(dir, 'f');
                ep.lastFinSeq = at;
            }
            else {
                if (c.recordOnce(dir, H_RST, 'r') && seq !== ep.lastRstSeq)
                    c.addHistory(dir, 'r');
                ep.lastRstSeq = seq;
            }
            return;
        }
        if (len > 0)
            c.recordOnce(dir, H_DATA, 'd');
        else if (flags & TcpFlag.ACK)
            c.recordOnce(dir, H_ACK, 'a');
    }
    /** The endpoint state machine, after Zeek's TCP analyzer. */
    updateState(c, dir, ep, peer, flags, len) {
        const syn = (flags & TcpFlag.SYN) !== 0;
        const fin = (flags & TcpFlag.FIN) !== 0;
        const rst = (flags & TcpFlag.RST) !== 0;
        const ack = (flags & TcpFlag.ACK) !== 0;
        switch (ep.state) {
            case S.INACTIVE:
                if (syn) {
                    if (dir === 0)
                        ep.setState(ack ? S.SYN_ACK_SENT : S.SYN_SENT);
                    else {
                        if (peer.state === S.SYN_SENT)
                            peer.setState(S.ESTABLISHED);
                        ep.setState(S.ESTABLISHED);
                    }
                }
                if (fin)
                    ep.setState(S.CLOSED);
                if (rst)
                    ep.setState(S.RESET);
                if (ep.state === S.INACTIVE) {
                    if (dir === 1 && len === 0 && c.orig.state === S.SYN_SENT) {
                        // Some stacks ack a SYN before answering it: not a partial connection.
                    }
                    else if (ack && peer.state === S.ESTABLISHED)
                        ep.setState(S.ESTABLISHED);
                    else
                        ep.setState(S.PARTIAL);
                }
                break;
            case S.SYN_SENT:
            case S.SYN_ACK_SENT:
                if (fin)
                    ep.setState(S.CLOSED);
                if (rst)
                    ep.setState(S.RESET);
                else if (len > 0)
                    this.weird(c, 'data_before_established');
                break;
            case S.ESTABLISHED:
            case S.PARTIAL:
                if (syn && ep.state === S.PARTIAL && peer.state === S.INACTIVE && !ack)
                    ep.setState(S.SYN_SENT);
                if (fin && !rst) {
                    ep.setState(S.CLOSED);
                    // A FIN followed by a RST from the peer was a normal close after all.
                    if (peer.state === S.RESET && peer.prevState === S.CLOSED)
                        peer.setState(S.CLOSED);
                }
                if (rst)
                    ep.setState(S.RESET);
                break;
            case S.CLOSED:
                if (syn)
                    this.weird(c, 'SYN_after_close');
                if (rst && peer.state !== S.CLOSED)
                    ep.setState(S.RESET);
                break;
            case S.RESET:
                if (len > 0 && !rst)
                    this.weird(c, 'data_after_reset');
                break;
        }
    }
}
function isDone(s) {
    return s === S.CLOSED || s === S.RESET;
}
function same6(a, b) {
    return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}
//# sourceMappingURL=conn-tracker.js.map