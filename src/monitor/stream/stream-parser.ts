/**
 * The contract between the TCP reassembler and an application-protocol parser.
 * Bytes arrive per direction in arbitrary pieces; a parser must accept any split of the
 * same byte stream and produce the same events, and must never throw on what the network sends.
 */

/** 0 = originator (client) to responder, 1 = responder to originator. */
export type Dir = 0 | 1;

export interface StreamParser {
  /** `buf[off, off+len)` is the next piece of direction `dir`; the parser must not keep a reference to `buf`. */
  data(dir: Dir, buf: Uint8Array, off: number, len: number, ts: number): void;
  /** `len` bytes of direction `dir` were lost (a hole the reassembler could not fill). */
  gap(dir: Dir, len: number): void;
  /** The connection ended; report what is unfinished. Further calls are ignored. */
  end(ts: number): void;
}
