import { TcpFlag } from '../decode/index.js';
import type { Connection, Direction } from './connection.js';
import type { Endpoint } from './endpoint.js';

/** Per-endpoint state, following Zeek's TCP endpoint states (ACTIVE is Zeek's UDP_ACTIVE). */
export const EndpointState = {
  INACTIVE: 0,
  SYN_SENT: 1,
  SYN_ACK_SENT: 2,
  PARTIAL: 3,
  ESTABLISHED: 4,
  CLOSED: 5,
  RESET: 6,
  ACTIVE: 7,
} as const;

const S = EndpointState;

export interface WeirdSink {
  weird(conn: Connection, name: string): void;
}

/** The endpoint state machine, after Zeek's TCP analyzer. */
export function updateTcpState(
  host: WeirdSink,
  c: Connection,
  dir: Direction,
  ep: Endpoint,
  peer: Endpoint,
  flags: number,
  len: number,
): void {
  const syn = (flags & TcpFlag.SYN) !== 0;
  const fin = (flags & TcpFlag.FIN) !== 0;
  const rst = (flags & TcpFlag.RST) !== 0;
  const ack = (flags & TcpFlag.ACK) !== 0;
  switch (ep.state) {
    case S.INACTIVE:
      if (syn) {
        if (dir === 0) ep.setState(ack ? S.SYN_ACK_SENT : S.SYN_SENT);
        else {
          if (peer.state === S.SYN_SENT) peer.setState(S.ESTABLISHED);
          ep.setState(S.ESTABLISHED);
        }
      }
      if (fin) ep.setState(S.CLOSED);
      if (rst) ep.setState(S.RESET);
      if (ep.state === S.INACTIVE) {
        if (dir === 1 && len === 0 && c.orig.state === S.SYN_SENT) {
          // Some stacks ack a SYN before answering it: not a partial connection.
        } else if (ack && peer.state === S.ESTABLISHED) ep.setState(S.ESTABLISHED);
        else ep.setState(S.PARTIAL);
      }
      break;
    case S.SYN_SENT:
    case S.SYN_ACK_SENT:
      if (fin) ep.setState(S.CLOSED);
      if (rst) ep.setState(S.RESET);
      else if (len > 0) host.weird(c, 'data_before_established');
      break;
    case S.ESTABLISHED:
    case S.PARTIAL:
      if (syn && ep.state === S.PARTIAL && peer.state === S.INACTIVE && !ack) ep.setState(S.SYN_SENT);
      if (fin && !rst) {
        ep.setState(S.CLOSED);
        // A FIN followed by a RST from the peer was a normal close after all.
        if (peer.state === S.RESET && peer.prevState === S.CLOSED) peer.setState(S.CLOSED);
      }
      if (rst) ep.setState(S.RESET);
      break;
    case S.CLOSED:
      if (syn) host.weird(c, 'SYN_after_close');
      if (rst && peer.state !== S.CLOSED) ep.setState(S.RESET);
      break;
    case S.RESET:
      if (len > 0 && !rst) host.weird(c, 'data_after_reset');
      break;
  }
}
