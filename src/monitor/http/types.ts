import type { Dir } from '../stream/index.js';

/** A header as seen on the wire: name lower-cased, value with surrounding blanks removed (bytes as latin1). */
export type HttpHeader = [name: string, value: string];

/**
 * One request/response exchange, the unit of Zeek's http.log. The parser fills it in as the
 * messages arrive; sink callbacks receive the same object at each step.
 */
export interface HttpTransaction {
  /** trans_depth: 1-based position of the request on its connection. */
  depth: number;
  /** Time of the piece that completed the request line. */
  ts: number;
  method: string;
  uri: string;
  /** `1.1`, `1.0`, ... or `0.9` for a simple request (no version, no headers). */
  version: string;
  headers: HttpHeader[];
  host: string;
  userAgent: string;
  /** Body bytes after removing the transfer coding and the content coding (Zeek's `request_body_len`). */
  requestBodyLen: number;
  requestTrailers: HttpHeader[];
  /** Part of the request body was lost to a gap or the connection ended inside it. */
  requestIncomplete: boolean;
  /** 0 until a final response arrives; stays 0 for an HTTP/0.9 response (no status line). */
  status: number;
  reason: string;
  responseVersion: string;
  responseHeaders: HttpHeader[];
  responseTs: number;
  /** As `requestBodyLen`, for the response. */
  responseBodyLen: number;
  responseTrailers: HttpHeader[];
  responseIncomplete: boolean;
}

export type TunnelKind = 'connect' | 'upgrade';

/**
 * Event callbacks; all optional. Byte arrays passed to `requestBody`/`responseBody` are views of
 * the caller's buffer, valid only during the call; `bodyPrefix` is a copy the receiver may keep.
 */
export interface HttpSink {
  request?(tx: HttpTransaction): void;
  requestBody?(tx: HttpTransaction, chunk: Uint8Array): void;
  requestDone?(tx: HttpTransaction, bodyLen: number, bodyPrefix: Uint8Array): void;
  /** A 1xx interim response other than 101 (e.g. `100 Continue`); the final response follows. */
  informational?(tx: HttpTransaction, status: number, reason: string, headers: HttpHeader[]): void;
  response?(tx: HttpTransaction, status: number, reason: string, headers: HttpHeader[]): void;
  responseBody?(tx: HttpTransaction, chunk: Uint8Array): void;
  responseDone?(tx: HttpTransaction, bodyLen: number): void;
  /** A 2xx answer to CONNECT or a 101 switch: the rest of the connection is not HTTP and is not parsed. */
  tunnel?(tx: HttpTransaction, kind: TunnelKind): void;
  weird?(name: string, detail: string, dir: Dir, ts: number): void;
  /**
   * A request's framing cannot be trusted (conflicting lengths, Transfer-Encoding with
   * Content-Length, a broken chunk): servers may split the bytes differently, so a request may be
   * hidden in what looks like a body. `tx` is the request whose framing failed (already reported);
   * the parser then looks for the next request line, line by line, so a smuggled request is parsed.
   */
  desync?(tx: HttpTransaction | null, name: string, detail: string, ts: number): void;
}

export interface HttpOptions {
  /** Bytes of request body kept for `requestDone`'s prefix (identity fields in JSON bodies). */
  bodyPrefixBytes: number;
  /** Limit for a message head (start line + headers, or trailers), counted in raw bytes. */
  maxHeaderBytes: number;
  maxHeaders: number;
  /** Largest Content-Length or chunk size believed; above it the direction is abandoned. */
  maxBodyLength: number;
  /** Requests awaiting a response; beyond it the oldest is forgotten (e.g. a one-way tap). */
  maxPendingRequests: number;
  /**
   * Bodies with `Content-Encoding: gzip`, `x-gzip` or `deflate` are measured decompressed; a
   * message that inflates beyond this many bytes, or beyond `maxDecodeRatio` times its encoded
   * size (once past 1 MiB), is a decompression bomb: decoding stops and raw bytes are counted.
   */
  maxDecodedBytes: number;
  maxDecodeRatio: number;
}

export const DEFAULT_HTTP_OPTIONS: HttpOptions = {
  bodyPrefixBytes: 4096,
  maxHeaderBytes: 64 * 1024,
  maxHeaders: 256,
  maxBodyLength: 2 ** 40,
  maxPendingRequests: 256,
  maxDecodedBytes: 16 * 1024 * 1024,
  maxDecodeRatio: 1000,
};

/** The weird names this parser reports, in Zeek's naming style. */
export const HTTP_WEIRDS = {
  badRequest: 'bad_HTTP_request',
  badReply: 'bad_HTTP_reply',
  unmatchedReply: 'unmatched_HTTP_reply',
  lineTooLong: 'HTTP_line_too_long',
  headerTooLarge: 'HTTP_header_too_large',
  tooManyHeaders: 'HTTP_too_many_headers',
  headerNoColon: 'HTTP_header_no_colon',
  badHeaderName: 'HTTP_bad_header_name',
  whitespaceBeforeColon: 'HTTP_whitespace_before_colon',
  nulInHeader: 'HTTP_NUL_in_header',
  obsFold: 'HTTP_obsolete_line_folding',
  whitespaceInUri: 'HTTP_whitespace_in_URI',
  badContentLength: 'HTTP_bad_content_length',
  conflictingContentLength: 'HTTP_conflicting_content_length',
  teAndCl: 'HTTP_transfer_encoding_with_content_length',
  badTransferEncoding: 'HTTP_bad_transfer_encoding',
  badChunkSize: 'HTTP_bad_chunk_size',
  badChunkTerminator: 'HTTP_bad_chunk_terminator',
  contentGap: 'HTTP_content_gap',
  gapLostSync: 'HTTP_gap_lost_sync',
  resynced: 'HTTP_request_resync',
  resyncFailed: 'HTTP_resync_failed',
  truncatedHeader: 'HTTP_truncated_header',
  truncatedBody: 'HTTP_truncated_body',
  pendingOverflow: 'HTTP_too_many_pending_requests',
  dataBeforeConnectReply: 'HTTP_data_before_CONNECT_reply',
  replyResynced: 'HTTP_reply_resync',
  looseVersion: 'HTTP_version_not_strict',
  leadingWhitespace: 'HTTP_whitespace_before_start_line',
  unknownMethod: 'unknown_HTTP_method',
  decompressionBomb: 'HTTP_decompression_bomb',
  decompressionFailed: 'HTTP_decompression_failed',
} as const;
