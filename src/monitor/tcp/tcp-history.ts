import { TcpFlag } from '../decode/index.js';
import type { Connection, Direction } from './connection.js';
import type { Endpoint } from './endpoint.js';

// History letters already recorded, one bit each (per direction, see Connection.recordOnce).
const H_SYN = 1 << 0;
const H_FIN = 1 << 1;
const H_RST = 1 << 2;
const H_ACK = 1 << 3;
export const H_DATA = 1 << 4;
const H_INCONSISTENT = 1 << 5;
const H_MULTI = 1 << 6;

/**
 * Zeek's history letters for one TCP packet: a, d, i, q once per direction; s, h, f, r again
 * whenever the sequence number differs from the last packet with that flag.
 */
export function recordTcpHistory(c: Connection, dir: Direction, ep: Endpoint, flags: number, seq: number, len: number): void {
  const syn = flags & TcpFlag.SYN;
  const fin = flags & TcpFlag.FIN;
  const rst = flags & TcpFlag.RST;
  const bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
  if (bits > 1) {
    if (fin && rst) c.recordOnce(dir, H_INCONSISTENT, 'i');
    else c.recordOnce(dir, H_MULTI, 'q');
    return;
  }
  if (bits === 1) {
    if (syn) {
      const letter = flags & TcpFlag.ACK ? 'h' : 's';
      if (c.recordOnce(dir, H_SYN, letter) && seq !== ep.lastSynSeq) c.addHistory(dir, letter);
      ep.lastSynSeq = seq;
    } else if (fin) {
      const at = (seq + len) >>> 0;
      if (c.recordOnce(dir, H_FIN, 'f') && at !== ep.lastFinSeq) c.addHistory(dir, 'f');
      ep.lastFinSeq = at;
    } else {
      if (c.recordOnce(dir, H_RST, 'r') && seq !== ep.lastRstSeq) c.addHistory(dir, 'r');
      ep.lastRstSeq = seq;
    }
    return;
  }
  if (len > 0) c.recordOnce(dir, H_DATA, 'd');
  else if (flags & TcpFlag.ACK) c.recordOnce(dir, H_ACK, 'a');
}
