export { createHttpParser } from './http-parser.js';
export { DEFAULT_HTTP_OPTIONS, HTTP_WEIRDS } from './types.js';
export type { HttpHeader, HttpOptions, HttpSink, HttpTransaction, TunnelKind } from './types.js';
export type { Dir, StreamParser } from '../stream/index.js';
