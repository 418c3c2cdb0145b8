import type { Connection } from '../tcp/index.js';
import type { LogValue } from '../logs/index.js';
import type { Notice } from '../policy/index.js';
import type { ConnSession } from './conn-session.js';

/** A conn.log row. Like Zeek, a connection of a single packet has no duration and no sizes. */
export function connRow(c: Connection, s: ConnSession, local: ((ip: string) => boolean) | null): LogValue[] {
  const pkts = c.orig.pkts + c.resp.pkts;
  const sized = pkts > 1;
  return [
    c.startTs,
    c.uid,
    ...s.idValues,
    c.protoName,
    s.service || null,
    sized ? c.duration : null,
    sized ? c.origBytes : null,
    sized ? c.respBytes : null,
    c.connState(),
    local ? local(s.id.origH) : null,
    local ? local(s.id.respH) : null,
    c.missedBytes,
    c.history || null,
    c.orig.pkts,
    c.orig.ipBytes,
    c.resp.pkts,
    c.resp.ipBytes,
    null,
  ];
}

const ACTIONS: readonly string[] = ['Notice::ACTION_LOG'];

/** A notice.log row; the structured evidence goes into `sub` as JSON. */
export function noticeRow(n: Notice): LogValue[] {
  const id = n.id;
  return [
    n.ts,
    n.uid ?? null,
    id?.origH ?? null,
    id?.origP ?? null,
    id?.respH ?? null,
    id?.respP ?? null,
    null,
    null,
    null,
    id?.proto ?? null,
    n.note,
    n.msg,
    JSON.stringify(n.evidence),
    n.src ?? null,
    n.dst ?? null,
    n.p ?? null,
    n.n ?? null,
    null,
    ACTIONS,
    [],
    n.suppressFor ?? null,
    null,
    null,
    null,
    null,
    null,
  ];
}

export function weirdRow(ts: number, s: ConnSession | null, name: string, addl: string, source: string): LogValue[] {
  return [ts, s?.uid ?? null, ...(s ? s.idValues : [null, null, null, null]), name, addl || null, false, 'flowtap', source];
}
