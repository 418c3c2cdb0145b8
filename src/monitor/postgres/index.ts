export { createPgParser } from './pg-parser.js';
export type {
  PgOptions,
  PgQuery,
  PgResult,
} from './types.js';
