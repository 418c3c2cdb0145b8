export { createHttpParser } from './http-parser.js';
export type { HttpHeader, HttpOptions, HttpSink, HttpTransaction } from './types.js';
