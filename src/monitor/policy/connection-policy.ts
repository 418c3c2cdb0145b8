import { EXTERNAL, type PortSpec, type Requirement } from '../../model/index.js';
import type { AppView, Peer } from './app-view.js';
import { peerName } from './integrity.js';
import { NoticeType, type ConnId, type Notice } from './notice.js';

/** What the policies know about one connection, decided once when it starts. */
export interface ConnContext {
  uid: string;
  id: ConnId;
  ts: number;
  orig: Peer;
  resp: Peer;
  /** The responder's port in the model (undefined: not an instance, or a port it does not offer). */
  port: PortSpec | undefined;
  /** Requirements that allow this connection. */
  allowed: readonly Requirement[];
  /** False when the connection itself breaks the policy: its requests are not checked again. */
  authorized: boolean;
  /** False when neither end is an instance of the app: none of its policies apply. */
  inScope: boolean;
}

/**
 * The connection policy: a connection is allowed when a requirement names its originator's
 * service (or `external`), the responder's service and the port it connects to. Anything else
 * — an internal service reached from outside, a service reaching one it has no requirement
 * for, a port the service does not offer, an instance connecting out of the application —
 * is an Unauthorized_Connection, with the peers that would have been allowed as evidence.
 */
export function evaluateConnection(view: AppView, uid: string, id: ConnId, ts: number): { ctx: ConnContext; notice?: Notice } {
  const orig = view.peerOf(id.origH);
  const resp = view.peerOf(id.respH);
  const inScope = orig.instance !== undefined || resp.instance !== undefined;
  const l4 = id.proto === 'udp' ? 'udp' : 'tcp';
  const port = resp.instance !== undefined ? view.port(resp.service, l4, id.respP) : undefined;
  const allowed = port ? view.requirements(orig.service, resp.service, port.name) : [];
  const ctx: ConnContext = { uid, id, ts, orig, resp, port, allowed, authorized: true, inScope };
  if (!inScope || (id.proto !== 'tcp' && id.proto !== 'udp') || allowed.length > 0) return { ctx };
  ctx.authorized = false;

  let expected: string[];
  let why: string;
  if (resp.instance === undefined) {
    expected = [];
    why = `no requirement lets ${orig.service} connect outside the application`;
  } else if (!port) {
    const offered = (view.app.services.find((s) => s.name === resp.service)?.ports ?? []).map((p) => `${p.name} ${p.protocol}/${p.port}`);
    expected = offered.map((p) => `${resp.service}:${p}`);
    why = `${resp.service} offers no ${l4} port ${id.respP} (offers ${offered.join(', ') || 'none'})`;
  } else {
    expected = view.requirementsTo(resp.service, port.name).map((r) => r.from);
    expected = expected.filter((f, i) => expected.indexOf(f) === i);
    why = `only ${expected.length > 0 ? expected.join(', ') : 'no one'} may connect to ${resp.service}:${port.name}`;
  }
  const src = orig.instance !== undefined ? orig.instance : orig.service === EXTERNAL ? `external ${orig.ip}` : peerName(orig);
  const dst = resp.instance !== undefined ? resp.instance : `external ${resp.ip}`;
  return {
    ctx,
    notice: {
      ts,
      note: NoticeType.UNAUTHORIZED_CONNECTION,
      // Raised on the first packet: the attempt itself is the evidence, whether or not a firewall stops it.
      msg: `${src} tried to connect to ${dst} ${l4}/${id.respP}: ${why}`,
      uid,
      id,
      src: id.origH,
      dst: id.respH,
      p: id.respP,
      evidence: {
        uids: [uid],
        src: orig.service,
        srcInstance: orig.instance ?? null,
        dst: resp.service,
        dstInstance: resp.instance ?? null,
        port: id.respP,
        portName: port?.name ?? null,
        request: `${l4} connection ${id.origH}:${id.origP} -> ${id.respH}:${id.respP}`,
        expected,
        seen: `${orig.service} -> ${resp.service}:${port?.name ?? `${l4}/${id.respP}`}`,
      },
    },
  };
}
