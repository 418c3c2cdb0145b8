import { unescapeUri, type HttpHeader, type HttpTransaction } from '../http/index.js';
import type { Connection } from '../tcp/index.js';
import { NOTICE_LOG, type LogValue } from '../logs/index.js';
import type { Notice } from '../policy/index.js';
import type { ConnSession } from './conn-session.js';

/** A conn.log row. Like Zeek, a connection that lasted no time has no duration and no payload sizes. */
export function connRow(c: Connection, s: ConnSession, local: ((ip: string) => boolean) | null): LogValue[] {
  const sized = c.duration > 0;
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

/**
 * The same row from primitives only, for a notice whose `noticeRow` threw (evidence that does
 * not serialise, a field of the wrong type): nothing here can fail, so the notice is still written.
 */
export function plainNoticeRow(n: Notice, why: unknown): LogValue[] {
  const row = new Array<LogValue>(NOTICE_LOG.fields.length).fill(null);
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  row[0] = num(n.ts);
  row[1] = safeText(n.uid);
  row[10] = safeText(n.note);
  row[11] = safeText(n.msg);
  row[12] = `evidence not written: ${safeText(why instanceof Error ? why.message : why)}`;
  row[13] = safeText(n.src);
  row[14] = safeText(n.dst);
  row[15] = num(n.p);
  row[16] = num(n.n);
  row[18] = ACTIONS;
  row[19] = [];
  row[20] = num(n.suppressFor);
  return row;
}

/** Text of any value, or null; never throws (String() does, on an object without a prototype). */
export function safeText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  try {
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

export function weirdRow(ts: number, s: ConnSession | null, name: string, addl: string, source: string): LogValue[] {
  return [ts, s?.uid ?? null, ...(s ? s.idValues : [null, null, null, null]), name, addl || null, false, 'flowtap', source];
}

/** The last value of a header: Zeek's http.log keeps the last of repeated Host, User-Agent, ... */
function header(headers: readonly HttpHeader[], name: string): string | null {
  for (let i = headers.length - 1; i >= 0; i--) if (headers[i][0] === name) return headers[i][1];
  return null;
}

/** Zeek's HTTP::proxy_headers, lower-cased as the parser keeps names. */
const PROXY_HEADERS: ReadonlySet<string> = new Set([
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-from',
  'client-ip',
  'via',
  'xroxy-connection',
  'proxy-connection',
]);

/** The user of Basic authentication; the password is not logged (Zeek's default). */
function basicUser(headers: readonly HttpHeader[]): string | null {
  for (const [name, value] of headers) {
    if (name !== 'authorization' && name !== 'proxy-authorization') continue;
    const m = /^basic[ \t]+(.*)$/i.exec(value);
    if (!m) continue;
    const userpass = Buffer.from(m[1], 'base64').toString('latin1');
    const colon = userpass.indexOf(':');
    return colon >= 0 ? userpass.slice(0, colon) : `<problem-decoding> (${value})`;
  }
  return null;
}

/** Interim (1xx) reply seen before the final one. */
export interface HttpInfo {
  code: number;
  msg: string;
}

/**
 * An http.log row with Zeek's meanings: `version` is the reply's, `uri` has its escapes decoded,
 * body lengths are after removing transfer and content codings (the parser's), `username` comes
 * from Basic authentication and `proxied` lists the proxy headers as `NAME -> value`.
 */
export function httpRow(tx: HttpTransaction, s: ConnSession, info: HttpInfo): LogValue[] {
  const h = tx.headers;
  let proxied: string[] | null = null;
  for (const [name, value] of h) {
    if (!PROXY_HEADERS.has(name)) continue;
    const entry = `${name.toUpperCase()} -> ${value}`;
    proxied ??= [];
    if (!proxied.includes(entry)) proxied.push(entry);
  }
  return [
    tx.ts || tx.responseTs,
    s.uid,
    ...s.idValues,
    tx.depth,
    tx.method || null,
    header(h, 'host'),
    tx.uri ? unescapeUri(tx.uri) : null,
    header(h, 'referer'),
    tx.responseVersion || null,
    header(h, 'user-agent'),
    header(h, 'origin'),
    tx.requestBodyLen,
    tx.responseBodyLen,
    tx.status || null,
    tx.status ? tx.reason : null,
    info.code || null,
    info.code ? info.msg : null,
    [],
    basicUser(h),
    null,
    proxied,
    null,
    null,
    null,
    null,
    null,
    null,
  ];
}
