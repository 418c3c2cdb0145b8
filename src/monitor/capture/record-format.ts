/**
 * The contract between the streaming reader (which handles chunk boundaries) and a
 * file format (which knows where records start and end).
 */
import type { DiagCode } from '../../diagnostics/index.js';

export interface RecordSink {
  /** Hand one packet to the callback; the packet gets the next 1-based index. */
  emit(ts: number, linktype: number, buf: Uint8Array, off: number, caplen: number, origlen: number, interfaceId: number): void;
  /** Count a packet record that could not be used; it still consumes an index. */
  dropPacket(code: DiagCode, message: string): void;
  /** Count an error that does not stop the reader. */
  error(code: DiagCode, message: string, packet?: number): void;
  /** Record a corruption after which the rest of the input cannot be framed; the reader stops. */
  fatal(code: DiagCode, message: string, packet?: number): void;
  /** The index the next packet record will get (for messages). */
  readonly nextIndex: number;
}

/** Returned by `frame` after `fatal` was reported. */
export const FRAME_FATAL = -1;

export interface RecordFormat {
  /**
   * Bytes needed, starting at `off`, to hold the whole next record given the `avail` bytes
   * visible. While the header itself is incomplete this is the header size, so the caller
   * asks again once it has that many. Returns FRAME_FATAL on corruption.
   */
  frame(buf: Uint8Array, off: number, avail: number): number;
  /** Set by `frame`: the record may be dropped without being buffered. */
  readonly skippable: boolean;
  /** Handle one complete record of `len` bytes framed by the last `frame` call. */
  consume(buf: Uint8Array, off: number, len: number): void;
}
