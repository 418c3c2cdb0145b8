/**
 * Notices as the dashboard lists them: each 'notice' record read the way the security
 * controller reads it (addresses resolved to instances and services, evidence unpacked), with
 * the reaction the controller took about it, when there is one, or whether it took it for
 * flowtap's own probe matrix.
 */
import type { StoredRecord } from '../broker/index.js';
import { noticeView, type InstancesByIp, type Reaction } from '../controller/index.js';
import type { Notice } from './schemas.js';

export function noticeList(
  records: readonly StoredRecord[],
  byIp: InstancesByIp,
  reactions: readonly Reaction[],
  /** Notices the controller attributed to flowtap's own probe (its audit records' provenance). */
  probe: ReadonlySet<string> = new Set(),
): Notice[] {
  const byNotice = new Map(reactions.map((r) => [r.notice, r]));
  const out: Notice[] = [];
  for (const rec of records) {
    const n = noticeView(rec, byIp);
    if (!n) continue;
    const r = byNotice.get(n.id);
    out.push({
      id: n.id,
      ts: n.ts,
      note: n.note,
      msg: n.msg,
      monitor: n.monitor,
      ...(n.uid ? { uid: n.uid } : {}),
      src: n.src,
      dst: { ...n.dst, ...(n.port !== undefined ? { port: n.port } : {}) },
      evidence: n.evidence,
      ...(r ? { reaction: { id: r.id, state: r.state } } : {}),
      ...(probe.has(n.id) ? { probe: true } : {}),
    });
  }
  return out;
}
