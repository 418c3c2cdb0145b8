import { formatIpv4, formatIpv6 } from '../decode/index.js';
import { Endpoint } from './endpoint.js';
import { EndpointState } from './tcp-state.js';
const PROTO_NAMES = { 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmp' };
/** A tracked flow: the fields of a Zeek conn.log record plus reassembly state. */
export class Connection {
    uid;
    hash;
    proto;
    ipVersion;
    origAddr4;
    respAddr4;
    origAddr6;
    respAddr6;
    origPort;
    respPort;
    vni;
    startTs;
    flipped;
    orig;
    resp;
    /** Zeek-style state history: upper case from the originator, lower case from the responder. */
    history = '';
    /** Bytes skipped in content gaps (both directions). */
    missedBytes = 0;
    /** Segments that overlapped data already received (first received wins). */
    overlaps = 0;
    /** ... of which the overlapping bytes differed: a likely evasion attempt. */
    inconsistentOverlaps = 0;
    /** Time of the last packet that counted for the duration (trailing packets after both closed do not). */
    lastTs;
    /** Time of the last packet of any kind (drives idle timeouts). */
    lastSeen;
    closeReason = null;
    /** Weird names already reported for this connection. */
    weirds = null;
    /** Buffered out-of-order bytes in both directions. */
    bufferedBytes = 0;
    /** Free for the caller (protocol analyzers attach their state here). */
    userData = undefined;
    // intrusive structures of the tracker
    hashNext = null;
    lruPrev = null;
    lruNext = null;
    lruList = -1;
    /** Per-direction history letters already recorded (bits), see `recordOnce`. */
    histSeen = 0;
    constructor(uid, hash, 
    /** IP protocol number: 6, 17, 1 or 58. */
    proto, ipVersion, origAddr4, respAddr4, origAddr6, respAddr6, origPort, respPort, vni, startTs, 
    /** True when the first packet was from the responder (Zeek's '^'). */
    flipped) {
        this.uid = uid;
        this.hash = hash;
        this.proto = proto;
        this.ipVersion = ipVersion;
        this.origAddr4 = origAddr4;
        this.respAddr4 = respAddr4;
        this.origAddr6 = origAddr6;
        this.respAddr6 = respAddr6;
        this.origPort = origPort;
        this.respPort = respPort;
        this.vni = vni;
        this.startTs = startTs;
        this.flipped = flipped;
        this.orig = new Endpoint(this, 0);
        this.resp = new Endpoint(this, 1);
        this.lastTs = startTs;
        this.lastSeen = startTs;
    }
    get protoName() {
        return PROTO_NAMES[this.proto] ?? String(this.proto);
    }
    get origAddress() {
        return this.origAddr6 ? formatIpv6(this.origAddr6) : formatIpv4(this.origAddr4);
    }
    get respAddress() {
        return this.respAddr6 ? formatIpv6(this.respAddr6) : formatIpv4(this.respAddr4);
    }
    get duration() {
        return this.lastTs - this.startTs;
    }
    /** Zeek's orig_bytes / resp_bytes: for TCP taken from sequence numbers, else payload sums. */
    get origBytes() {
        return this.proto === 6 ? this.orig.maxEnd : this.orig.payloadBytes;
    }
    get respBytes() {
        return this.proto === 6 ? this.resp.maxEnd : this.resp.payloadBytes;
    }
    addHistory(dir, letter) {
        this.history += dir === 0 ? letter.toUpperCase() : letter;
    }
    /** Record a letter the first time it occurs in a direction; returns true if it had been seen before. */
    recordOnce(dir, bit, letter) {
        const mask = dir === 0 ? bit : bit << 16;
        if (this.histSeen & mask)
            return true;
        this.histSeen |= mask;
        this.addHistory(dir, letter);
        return false;
    }
    /** Zeek's conn_state, from the endpoint states and the history. */
    connState() {
        const os = this.orig.state;
        const rs = this.resp.state;
        const S = EndpointState;
        if (this.proto === 17) {
            if (os === S.ACTIVE)
                return rs === S.ACTIVE ? 'SF' : 'S0';
            return rs === S.ACTIVE ? 'SHR' : 'OTH';
        }
        if (this.proto !== 6)
            return 'OTH';
        const oInactive = os === S.INACTIVE || os === S.PARTIAL;
        const rInactive = rs === S.INACTIVE || rs === S.PARTIAL;
        if (rs === S.RESET) {
            if (os === S.SYN_SENT || os === S.SYN_ACK_SENT || (os === S.RESET && this.orig.maxEnd === 0 && this.resp.maxEnd === 0))
                return 'REJ';
            return oInactive ? 'RSTRH' : 'RSTR';
        }
        if (os === S.RESET) {
            if (rInactive)
                return /^\^?S[^HAFGIQ]*R/.test(this.history) ? 'RSTOS0' : 'OTH';
            return 'RSTO';
        }
        if (rs === S.CLOSED && os === S.CLOSED)
            return 'SF';
        if (os === S.CLOSED)
            return rInactive ? 'SH' : 'S2';
        if (rs === S.CLOSED)
            return oInactive ? 'SHR' : 'S3';
        if (os === S.SYN_SENT && rs === S.INACTIVE)
            return 'S0';
        if (os === S.ESTABLISHED && rs === S.ESTABLISHED)
            return 'S1';
        return 'OTH';
    }
}
//# sourceMappingURL=connection.js.map