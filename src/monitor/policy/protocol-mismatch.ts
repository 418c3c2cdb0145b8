import type { ConnContext } from './connection-policy.js';
import { peerName } from './integrity.js';
import { NoticeType, type Notice } from './notice.js';

/**
 * A connection to a port of the model whose first bytes are another protocol than the one the
 * port promises (`seen`: the protocol recognised, or `unknown`). Traffic moved onto a port that
 * is watched for something else escapes that protocol's policies, so it is worth a notice even
 * when the connection itself is allowed.
 */
export function protocolMismatch(ctx: ConnContext, ts: number, expected: string, seen: string): Notice {
  const { id, orig, resp, port } = ctx;
  const where = `${peerName(resp)} tcp/${id.respP}${port ? ` (${port.name})` : ''}`;
  return {
    ts,
    note: NoticeType.PROTOCOL_MISMATCH,
    msg: `${peerName(orig)} spoke ${seen} to ${where}, which the model gives to ${expected}`,
    uid: ctx.uid,
    id,
    src: id.origH,
    dst: id.respH,
    p: id.respP,
    evidence: {
      uids: [ctx.uid],
      src: orig.service,
      srcInstance: orig.instance ?? null,
      dst: resp.service,
      dstInstance: resp.instance ?? null,
      port: id.respP,
      portName: port?.name ?? null,
      request: `tcp connection ${id.origH}:${id.origP} -> ${id.respH}:${id.respP}`,
      expected,
      seen,
    },
  };
}
