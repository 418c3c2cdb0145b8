import { Sig, type SigResult } from './signature.js';

/** Request codes of the untyped first messages (PostgreSQL's protocol, "Message Formats"). */
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/** The server refuses larger startup packets (MAX_STARTUP_PACKET_LENGTH). */
const MAX_STARTUP = 10000;
/** Protocol 3.x; servers up to 18 speak minor versions 0 and 2. */
const PROTOCOL_MAJOR = 3;
const PROTOCOL_MINOR_MAX = 9;

/**
 * A PostgreSQL client's first message: StartupMessage (protocol 3.x), SSLRequest, GSSENCRequest
 * or CancelRequest — an Int32 length and an Int32 code, with the lengths each one must have.
 */
export function matchPgClient(buf: Uint8Array, off: number, len: number): SigResult {
  // Every valid length is below 2^16: the first two bytes are zero.
  if (len > 0 && buf[off] !== 0) return Sig.NO;
  if (len > 1 && buf[off + 1] !== 0) return Sig.NO;
  if (len < 8) return Sig.MORE;
  const length = (buf[off + 2] << 8) | buf[off + 3];
  const code = ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0;
  if (code === SSL_REQUEST || code === GSSENC_REQUEST) return length === 8 ? Sig.YES : Sig.NO;
  if (code === CANCEL_REQUEST) return length === 16 ? Sig.YES : Sig.NO;
  if (code >>> 16 !== PROTOCOL_MAJOR || (code & 0xffff) > PROTOCOL_MINOR_MAX) return Sig.NO;
  if (length < 9 || length > MAX_STARTUP) return Sig.NO;
  // Parameters follow: a name (printable ASCII) or the final terminator.
  if (len === 8) return Sig.MORE;
  const b = buf[off + 8];
  return b === 0 || (b > 0x20 && b < 0x7f) ? Sig.YES : Sig.NO;
}
