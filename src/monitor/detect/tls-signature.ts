import { Sig, type SigResult } from './signature.js';

const HANDSHAKE = 22;
export const CLIENT_HELLO = 1;
export const SERVER_HELLO = 2;
/** Largest TLSPlaintext record (2^14) plus the expansion TLS 1.2 allows a compressed one. */
const MAX_RECORD = 16384 + 1024;
/** The smallest hello: version, 32 random bytes, and the session id, suite and method lengths. */
const MIN_HELLO = 38;

/**
 * A TLS (or SSL 3.0) handshake record opening with a ClientHello or ServerHello:
 * type 22, version 3.0-3.4, a plausible length, the hello type, its length, and the hello's own
 * legacy version 3.x. Eleven bytes decide. SSL 2.0-style hellos are not recognised.
 */
export function matchTlsHello(buf: Uint8Array, off: number, len: number, hello: number): SigResult {
  const n = Math.min(len, 11);
  for (let i = 0; i < n; i++) {
    const b = buf[off + i];
    let ok: boolean;
    switch (i) {
      case 0:
        ok = b === HANDSHAKE;
        break;
      case 1:
      case 9:
        ok = b === 3;
        break;
      case 2:
      case 10:
        ok = b <= 4;
        break;
      case 4: {
        const record = (buf[off + 3] << 8) | b;
        ok = record >= 4 && record <= MAX_RECORD;
        break;
      }
      case 5:
        ok = b === hello;
        break;
      case 8: {
        const body = (buf[off + 6] << 16) | (buf[off + 7] << 8) | b;
        ok = body >= MIN_HELLO;
        break;
      }
      default:
        ok = true;
    }
    if (!ok) return Sig.NO;
  }
  return n === 11 ? Sig.YES : Sig.MORE;
}
