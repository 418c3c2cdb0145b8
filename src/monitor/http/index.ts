export { createHttpParser } from './http-parser.js';
export { unescapeUri } from './uri.js';
export type { HttpHeader, HttpOptions, HttpSink, HttpTransaction } from './types.js';
