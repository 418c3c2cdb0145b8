/**
 * What the client of a blocked request reads, in its own protocol's words: HTTP a 403
 * (forbiddenResponse), PostgreSQL an ErrorResponse, NATS an `-ERR` line. The monitor closes the
 * connection right after (the server already got a reset in place of the request), so each
 * answer is one the client can take as final: no ReadyForQuery that would invite the next
 * statement on a connection that is gone, no `+OK`.
 */
import type { Decision } from '../../policy/index.js';
import { forbiddenResponse } from './tcp-segment.js';

/** Longest text any answer carries: it must fit one segment whatever the policy and the request said. */
const MAX_TEXT = 400;
const MAX_UID = 40;

/** Printable ASCII only: the text came from a request and a policy, and ends up in a client's terminal or log. */
const printable = (s: string, max: number) => s.replace(/[^\x20-\x7e]/g, '?').slice(0, max);

/** SQLSTATE insufficient_privilege: what PostgreSQL itself says when a role may not touch a table. */
export const PG_INSUFFICIENT_PRIVILEGE = '42501';

/**
 * A PostgreSQL ErrorResponse ('E') refusing a statement: severity ERROR, SQLSTATE 42501, the
 * policy's reason as the message and the connection's uid as the detail (psql prints both).
 */
export function pgErrorResponse(reason: string, uid: string): Uint8Array {
  const fields: [string, string][] = [
    ['S', 'ERROR'],
    // The non-localised severity (protocol 3.0 since PostgreSQL 9.6): clients that read it prefer it.
    ['V', 'ERROR'],
    ['C', PG_INSUFFICIENT_PRIVILEGE],
    ['M', `permission denied by flowtap's inline monitor: ${printable(reason, MAX_TEXT)}`],
    ['D', `connection ${printable(uid, MAX_UID)} (see inline.log); the monitor closes it`],
  ];
  const enc = new TextEncoder();
  const parts = fields.map(([code, text]) => enc.encode(`${code}${text}\0`));
  const bodyLength = parts.reduce((n, p) => n + p.length, 0) + 1;
  const out = new Uint8Array(1 + 4 + bodyLength);
  out[0] = 0x45; // 'E'
  new DataView(out.buffer).setInt32(1, 4 + bodyLength);
  let off = 5;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  out[off] = 0; // the field list's terminator
  return out;
}

/** Subjects are tokens without spaces; a quote would end the error's quoted text early. */
const subjectText = (s: string) => printable(s, 200).replace(/[\s'"]/g, '?');

/**
 * A NATS `-ERR` for a refused PUB or SUB, worded as nats-server's own permission errors (client
 * libraries recognise "Permissions Violation"), with the connection's uid to find the row.
 * `request` is the decision's `PUB subject` or `SUB subject`.
 */
export function natsPermissionError(request: string, uid: string): Uint8Array {
  const m = /^(PUB|SUB) (\S+)/.exec(request);
  const what = m ? `${m[1] === 'PUB' ? 'Publish' : 'Subscription'} to "${subjectText(m[2])}"` : 'this request';
  return new TextEncoder().encode(
    `-ERR 'Permissions Violation for ${what} (flowtap inline monitor, connection ${subjectText(uid).slice(0, MAX_UID)})'\r\n`,
  );
}

/**
 * The answer for a request blocked by a decision of `kind`, or null when the client gets a
 * plain reset (a connection refused as a whole, an oddity in what it sent, a flow picked up
 * mid-stream: nothing a protocol message could explain to a client that is mid-conversation).
 * `reason` is the policy's; HTTP names the request too, as a browser shows no request line, while
 * a SQL or NATS client knows the statement or subject it just sent.
 */
export function refusalFor(kind: Decision['kind'] | null, request: string | null, reason: string, uid: string): Uint8Array | null {
  switch (kind) {
    case 'http':
      return forbiddenResponse(request ? `${request}: ${reason}` : reason, uid);
    case 'sql':
      return pgErrorResponse(reason, uid);
    case 'nats':
      return request === null ? null : natsPermissionError(request, uid);
    default:
      return null;
  }
}
