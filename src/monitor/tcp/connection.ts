import { formatIpv4, formatIpv6 } from '../../net/index.js';
import type { ListNode } from './conn-list.js';
import { Endpoint } from './endpoint.js';
import { EndpointState } from './tcp-state.js';

/** 0: from the originator; 1: from the responder. */
export type Direction = 0 | 1;

export type CloseReason = 'fin' | 'rst' | 'timeout' | 'evicted' | 'flush';

const PROTO_NAMES: Record<number, string> = { 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmp' };

/** A tracked flow: the fields of a Zeek conn.log record plus reassembly state. */
export class Connection implements ListNode<Connection> {
  readonly orig: Endpoint;
  readonly resp: Endpoint;
  /** Zeek-style state history: upper case from the originator, lower case from the responder. */
  history = '';
  /** Bytes skipped in content gaps (both directions). */
  missedBytes = 0;
  /** Segments that overlapped data already received (first received wins). */
  overlaps = 0;
  /** ... of which the overlapping bytes differed: a likely evasion attempt. */
  inconsistentOverlaps = 0;
  /** Time of the last packet that counted for the duration (trailing packets after both closed do not). */
  lastTs: number;
  /** Time of the last packet of any kind (drives idle timeouts). */
  lastSeen: number;
  closeReason: CloseReason | null = null;
  /** Weird names already reported for this connection. */
  weirds: string[] | null = null;
  /** Buffered out-of-order bytes in both directions. */
  bufferedBytes = 0;
  /** Free for the caller (protocol analyzers attach their state here). */
  userData: unknown = undefined;

  // intrusive structures of the tracker
  hashNext: Connection | null = null;
  lruPrev: Connection | null = null;
  lruNext: Connection | null = null;
  lruList = -1;
  /** Per-direction history letters already recorded (bits), see `recordOnce`. */
  histSeen = 0;

  constructor(
    readonly uid: string,
    readonly hash: number,
    /** IP protocol number: 6, 17, 1 or 58. */
    readonly proto: number,
    readonly ipVersion: number,
    readonly origAddr4: number,
    readonly respAddr4: number,
    readonly origAddr6: Uint32Array | null,
    readonly respAddr6: Uint32Array | null,
    readonly origPort: number,
    readonly respPort: number,
    readonly vni: number,
    readonly startTs: number,
    /** True when the first packet was from the responder (Zeek's '^'). */
    readonly flipped: boolean,
  ) {
    this.orig = new Endpoint(this, 0);
    this.resp = new Endpoint(this, 1);
    this.lastTs = startTs;
    this.lastSeen = startTs;
  }

  get protoName(): string {
    return PROTO_NAMES[this.proto] ?? String(this.proto);
  }

  get origAddress(): string {
    return this.origAddr6 ? formatIpv6(this.origAddr6) : formatIpv4(this.origAddr4);
  }

  get respAddress(): string {
    return this.respAddr6 ? formatIpv6(this.respAddr6) : formatIpv4(this.respAddr4);
  }

  get duration(): number {
    return this.lastTs - this.startTs;
  }

  /** Zeek's orig_bytes / resp_bytes: for TCP taken from sequence numbers, else payload sums. */
  get origBytes(): number {
    return this.proto === 6 ? this.orig.maxEnd : this.orig.payloadBytes;
  }

  get respBytes(): number {
    return this.proto === 6 ? this.resp.maxEnd : this.resp.payloadBytes;
  }

  addHistory(dir: Direction, letter: string): void {
    this.history += dir === 0 ? letter.toUpperCase() : letter;
  }

  /** Record a letter the first time it occurs in a direction; returns true if it had been seen before. */
  recordOnce(dir: Direction, bit: number, letter: string): boolean {
    const mask = dir === 0 ? bit : bit << 16;
    if (this.histSeen & mask) return true;
    this.histSeen |= mask;
    this.addHistory(dir, letter);
    return false;
  }

  /** Zeek's conn_state, from the endpoint states and the history. */
  connState(): string {
    const os = this.orig.state;
    const rs = this.resp.state;
    const S = EndpointState;
    if (this.proto === 17) {
      if (os === S.ACTIVE) return rs === S.ACTIVE ? 'SF' : 'S0';
      return rs === S.ACTIVE ? 'SHR' : 'OTH';
    }
    if (this.proto !== 6) return 'OTH';
    const oInactive = os === S.INACTIVE || os === S.PARTIAL;
    const rInactive = rs === S.INACTIVE || rs === S.PARTIAL;
    if (rs === S.RESET) {
      if (os === S.SYN_SENT || os === S.SYN_ACK_SENT || (os === S.RESET && this.orig.maxEnd === 0 && this.resp.maxEnd === 0)) return 'REJ';
      return oInactive ? 'RSTRH' : 'RSTR';
    }
    if (os === S.RESET) {
      if (rInactive) return /^\^?S[^HAFGIQ]*R/.test(this.history) ? 'RSTOS0' : 'OTH';
      return 'RSTO';
    }
    if (rs === S.CLOSED && os === S.CLOSED) return 'SF';
    if (os === S.CLOSED) return rInactive ? 'SH' : 'S2';
    if (rs === S.CLOSED) return oInactive ? 'SHR' : 'S3';
    if (os === S.SYN_SENT && rs === S.INACTIVE) return 'S0';
    if (os === S.ESTABLISHED && rs === S.ESTABLISHED) return 'S1';
    return 'OTH';
  }
}
