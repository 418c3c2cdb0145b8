export { createPgParser } from './pg-parser.js';
export { DEFAULT_PG_OPTIONS, PG_WEIRDS } from './types.js';
export type {
  PgAuthentication,
  PgCancel,
  PgError,
  PgOptions,
  PgQuery,
  PgResult,
  PgSink,
  PgStartup,
} from './types.js';
export type { Dir, StreamParser } from '../stream/index.js';
