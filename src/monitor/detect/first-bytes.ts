import { matchHttpRequest, matchHttpStatus } from './http-signature.js';
import { matchNatsConnect, matchNatsInfo } from './nats-signature.js';
import { matchPgClient } from './postgres-signature.js';
import type { Detection } from './protocol.js';
import { SNIFF_WINDOW, Sig, type SigResult } from './signature.js';
import { CLIENT_HELLO, matchTlsHello, SERVER_HELLO } from './tls-signature.js';

/**
 * The protocol that the first bytes of one direction (`dir` 0: the originator's, 1: the
 * responder's) begin, whatever the port: `undecided` while more bytes could still make a
 * signature match, `none` once none can. Every answer is final by SNIFF_WINDOW bytes.
 * The signatures' first bytes barely overlap, so the order below only settles `CONNECT {`
 * (NATS) against an HTTP CONNECT, which the HTTP signature refuses anyway.
 */
export function detectFirstBytes(dir: 0 | 1, buf: Uint8Array, off: number, len: number): Detection {
  if (len <= 0) return 'undecided';
  let more = false;
  let r: SigResult;
  if (dir === 0) {
    r = matchHttpRequest(buf, off, len);
    if (r === Sig.YES) return 'http';
    more ||= r === Sig.MORE;
    r = matchNatsConnect(buf, off, len);
    if (r === Sig.YES) return 'nats';
    more ||= r === Sig.MORE;
    r = matchPgClient(buf, off, len);
    if (r === Sig.YES) return 'postgres';
    more ||= r === Sig.MORE;
    r = matchTlsHello(buf, off, len, CLIENT_HELLO);
  } else {
    r = matchHttpStatus(buf, off, len);
    if (r === Sig.YES) return 'http';
    more ||= r === Sig.MORE;
    r = matchNatsInfo(buf, off, len);
    if (r === Sig.YES) return 'nats';
    more ||= r === Sig.MORE;
    r = matchTlsHello(buf, off, len, SERVER_HELLO);
  }
  if (r === Sig.YES) return 'tls';
  more ||= r === Sig.MORE;
  return more && len < SNIFF_WINDOW ? 'undecided' : 'none';
}
