import type { FieldReader } from './field-reader.js';
import { costOf, type PgState, type Portal } from './state.js';
import { PG_WEIRDS as W, type PgQuery } from './types.js';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

/** Frontend message types of protocol 3 (B C d c f D E H F P p Q S X). */
export const FRONTEND_TYPES = new Set([0x42, 0x43, 0x64, 0x63, 0x66, 0x44, 0x45, 0x48, 0x46, 0x50, 0x70, 0x51, 0x53, 0x58]);

/** Types whose bodies the frontend decoder reads. */
export const FRONTEND_DECODED = new Set([0x51, 0x50, 0x42, 0x45, 0x43, 0x70]);

const AUTH_METHODS: Record<number, string> = { 3: 'cleartext', 5: 'md5', 7: 'gss', 8: 'gss', 9: 'sspi', 10: 'sasl-initial', 11: 'sasl' };

export type UntypedOutcome = 'startup' | 'encryption' | 'cancel' | 'stop';

/** A message before StartupMessage: SSLRequest, GSSENCRequest, CancelRequest or StartupMessage. */
export function untypedMessage(st: PgState, r: FieldReader): UntypedOutcome {
  const code = r.int32();
  if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
    st.awaitingAnswers++;
    st.encryptionRequested = true;
    st.sink.sslRequest?.(code === SSL_REQUEST ? 'ssl' : 'gss', st.ts);
    return 'encryption';
  }
  if (code === CANCEL_REQUEST) {
    const pid = r.int32();
    const key = r.buf.toString('hex', r.pos, r.end);
    st.sink.cancel?.({ ts: st.ts, pid, key });
    return 'cancel';
  }
  const major = code >>> 16;
  const minor = code & 0xffff;
  if (major !== 3) {
    if (major === 1234) st.weird(W.badStartup, `unknown request code ${minor}`, 0);
    else st.weird(W.unsupportedProtocol, `protocol ${major}.${minor}`, 0);
    return 'stop';
  }
  const params: [string, string][] = [];
  let user = '';
  let database = '';
  let applicationName = '';
  for (;;) {
    const name = r.cstr();
    if (name === '' || r.short) break;
    const value = r.cstr();
    params.push([name, value]);
    if (name === 'user') user = value;
    else if (name === 'database') database = value;
    else if (name === 'application_name') applicationName = value;
    if (r.short) break;
  }
  if (r.short) st.weird(W.malformed, 'startup parameters not terminated', 0);
  st.sink.startup?.({ ts: st.ts, protocol: `${major}.${minor}`, user, database: database || user, applicationName, params });
  return 'startup';
}

function decodeParam(r: FieldReader, len: number, binary: boolean, max: number): { value: string; cut: boolean } {
  const at = r.advance(len);
  const avail = r.pos - at;
  const n = Math.min(avail, max);
  const value = binary ? '\\x' + r.buf.toString('hex', at, at + n) : r.buf.toString('utf8', at, at + n);
  return { value, cut: n < len };
}

function bind(st: PgState, r: FieldReader, cut: boolean): void {
  const portal = r.cstr();
  const statementName = r.cstr();
  const nFormats = r.int16();
  const formats: number[] = [];
  for (let i = 0; i < nFormats && !r.short; i++) formats.push(r.int16());
  const nParams = r.int16();
  const params: (string | null)[] = [];
  let truncated = cut;
  let malformed = nFormats < 0 || nParams < 0 || (nFormats > 1 && nFormats !== nParams);
  for (let i = 0; i < nParams && !r.short && !malformed; i++) {
    const len = r.int32();
    if (r.short) break;
    if (len === -1) {
      params.push(null);
      continue;
    }
    if (len < -1) {
      malformed = true;
      break;
    }
    const format = nFormats === 0 ? 0 : nFormats === 1 ? formats[0] : (formats[i] ?? 0);
    const p = decodeParam(r, len, format === 1, st.opts.maxParamBytes);
    params.push(p.value);
    if (p.cut) truncated = true;
  }
  if (malformed || (r.short && !cut)) st.weird(W.malformed, `Bind for portal '${portal}' has inconsistent counts or lengths`, 0);
  const prepared = st.statements.get(statementName);
  if (!prepared) st.weird(W.unknownStatement, `Bind to unknown statement '${statementName}'`, 0);
  const p: Portal = {
    statementName,
    sql: prepared?.sql ?? '',
    paramTypes: prepared?.paramTypes ?? [],
    params,
    truncated: truncated || (prepared?.truncated ?? false),
    cost: costOf(prepared?.sql ?? '', params),
  };
  st.remember(st.portals, portal, p);
}

function execute(st: PgState, r: FieldReader): void {
  const portal = r.cstr();
  const p = st.portals.get(portal);
  if (!p) st.weird(W.unknownPortal, `Execute of unknown portal '${portal}'`, 0);
  const q: PgQuery = {
    id: st.nextQueryId(),
    ts: st.ts,
    kind: 'extended',
    sql: p?.sql ?? '',
    statementName: p?.statementName ?? '',
    portal,
    params: p?.params ?? [],
    paramTypes: p?.paramTypes ?? [],
    truncated: p?.truncated ?? false,
  };
  st.extended(q);
  st.emitQuery(q);
}

/** A typed frontend message; `cut` when only a prefix of the body was kept. */
export function frontendMessage(st: PgState, type: number, r: FieldReader, cut: boolean): 'terminate' | undefined {
  switch (type) {
    case 0x51: {
      // Query
      const sql = r.cstr();
      if (r.short && !cut) st.weird(W.malformed, 'Query text not terminated', 0);
      const q: PgQuery = {
        id: st.nextQueryId(),
        ts: st.ts,
        kind: 'simple',
        sql,
        statementName: '',
        portal: '',
        params: [],
        paramTypes: [],
        truncated: cut,
      };
      st.simple(q);
      st.emitQuery(q);
      return;
    }
    case 0x50: {
      // Parse
      st.openBatch();
      const name = r.cstr();
      const sql = r.cstr();
      const n = r.int16();
      const paramTypes: number[] = [];
      for (let i = 0; i < n && !r.short; i++) paramTypes.push(r.int32() >>> 0);
      if (r.short && !cut) st.weird(W.malformed, `Parse of statement '${name}' is short`, 0);
      st.remember(st.statements, name, { sql, paramTypes, truncated: cut, cost: costOf(sql) });
      return;
    }
    case 0x42:
      st.openBatch();
      bind(st, r, cut);
      return;
    case 0x45:
      execute(st, r);
      return;
    case 0x43: {
      // Close
      st.openBatch();
      const what = r.byte();
      const name = r.cstr();
      if (what === 0x53) st.forget(st.statements, name);
      else if (what === 0x50) st.forget(st.portals, name);
      return;
    }
    case 0x44:
      st.openBatch();
      return;
    case 0x53:
      // Sync: ends the batch; its ReadyForQuery follows
      st.openBatch();
      st.open = null;
      return;
    case 0x46:
      st.simple(null);
      return;
    case 0x70: {
      const method = AUTH_METHODS[st.lastAuthCode] ?? 'unknown';
      const mechanism = st.lastAuthCode === 10 ? r.cstr() : '';
      st.sink.password?.({ ts: st.ts, method, mechanism });
      return;
    }
    case 0x58:
      st.sink.terminate?.(st.ts);
      return 'terminate';
  }
}
