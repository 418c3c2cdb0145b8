import { SNIFF_WINDOW, Sig, startsWithWord, type SigResult } from './signature.js';

/**
 * `WORD` (any case, as nats-server accepts it), one or more spaces or tabs, and the `{` that
 * opens its JSON: how a NATS server (INFO) and client (CONNECT) begin a connection.
 */
function matchOp(buf: Uint8Array, off: number, len: number, word: string): SigResult {
  const head = startsWithWord(buf, off, len, word, true);
  if (head !== Sig.YES) return head;
  const end = off + Math.min(len, SNIFF_WINDOW);
  let i = off + word.length;
  if (i < end && buf[i] !== 0x20 && buf[i] !== 0x09) return Sig.NO;
  while (i < end && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
  if (i === end) return end - off < SNIFF_WINDOW ? Sig.MORE : Sig.NO;
  return buf[i] === 0x7b && i > off + word.length ? Sig.YES : Sig.NO;
}

/** A NATS server's greeting: `INFO {`. */
export function matchNatsInfo(buf: Uint8Array, off: number, len: number): SigResult {
  return matchOp(buf, off, len, 'INFO');
}

/** A NATS client's first command: `CONNECT {` (an HTTP CONNECT names an authority, never `{`). */
export function matchNatsConnect(buf: Uint8Array, off: number, len: number): SigResult {
  return matchOp(buf, off, len, 'CONNECT');
}
