import type { FieldReader } from './field-reader.js';
import type { PgState } from './state.js';
import { PG_WEIRDS as W, type PgError } from './types.js';

/** Backend message types of protocol 3. */
export const BACKEND_TYPES = new Set([...'RSKZTDCIEN123ntsGHWdcAVv'].map((c) => c.charCodeAt(0)));

/** Types whose bodies the backend decoder reads. */
export const BACKEND_DECODED = new Set([...'RSKZCENA'].map((c) => c.charCodeAt(0)));

/** Messages that may open a conversation: anything else first means the capture began mid-stream. */
const STARTUP_TYPES = new Set([...'RENvSKZ'].map((c) => c.charCodeAt(0)));

const AUTH_NAMES: Record<number, string> = {
  0: 'ok',
  2: 'kerberos-v5',
  3: 'cleartext',
  5: 'md5',
  7: 'gss',
  8: 'gss-continue',
  9: 'sspi',
  10: 'sasl',
  11: 'sasl-continue',
  12: 'sasl-final',
};

/** Fields of ErrorResponse/NoticeResponse: code byte + string, until a zero byte. */
function errorFields(r: FieldReader): PgError {
  let s = '';
  let v = '';
  const e: PgError = { severity: '', code: '', message: '', detail: '' };
  while (r.remaining > 0) {
    const field = r.byte();
    if (field === 0) break;
    const value = r.cstr();
    if (field === 0x53) s = value;
    else if (field === 0x56) v = value;
    else if (field === 0x43) e.code = value;
    else if (field === 0x4d) e.message = value;
    else if (field === 0x44) e.detail = value;
  }
  e.severity = v || s;
  return e;
}

export function backendMessage(st: PgState, type: number, r: FieldReader, cut: boolean): void {
  if (!st.backendSeen) {
    st.backendSeen = true;
    if (!STARTUP_TYPES.has(type)) st.startupDone = true;
  }
  switch (type) {
    case 0x52: {
      // Authentication*
      const code = r.int32();
      const mechanisms: string[] = [];
      if (code === 10) {
        while (r.remaining > 0) {
          const m = r.cstr();
          if (m === '') break;
          mechanisms.push(m);
        }
      }
      st.lastAuthCode = code;
      st.sink.authentication?.({ ts: st.ts, code, method: AUTH_NAMES[code] ?? 'unknown', mechanisms });
      return;
    }
    case 0x53: {
      const name = r.cstr();
      const value = r.cstr();
      st.sink.parameterStatus?.(name, value, st.ts);
      return;
    }
    case 0x4b: {
      const pid = r.int32();
      st.sink.backendKey?.(pid, r.buf.toString('hex', r.pos, r.end), st.ts);
      return;
    }
    case 0x5a: {
      const status = String.fromCharCode(r.byte());
      if (!st.startupDone) st.startupDone = true;
      else {
        const b = st.shift();
        if (!b) st.weird(W.unmatchedReady, 'ReadyForQuery with no query pending', 1);
        else if (b.next < b.items.length) {
          for (let i = b.next; i < b.items.length; i++)
            if (b.items[i].kind === 'extended') st.emitResult(b.items[i], '', { skipped: true });
        }
      }
      st.rows = 0;
      st.sink.ready?.(status, st.ts);
      return;
    }
    case 0x54:
      st.rows = 0;
      return;
    case 0x44:
      st.rows++;
      return;
    case 0x43: {
      const tag = r.cstr();
      if (r.short && !cut) st.weird(W.malformed, 'CommandComplete tag not terminated', 1);
      st.complete(tag);
      return;
    }
    case 0x49:
      st.complete('');
      return;
    case 0x73:
      st.complete('', { suspended: true });
      return;
    case 0x45:
      st.failed(errorFields(r));
      return;
    case 0x4e:
      st.sink.notice?.(errorFields(r), st.ts);
      return;
    case 0x41: {
      const pid = r.int32();
      const channel = r.cstr();
      const payload = r.cstr();
      st.sink.notification?.({ pid, channel, payload, ts: st.ts });
      return;
    }
  }
}
