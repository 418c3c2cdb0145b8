export {
  CONN_LOG,
  HTTP_LOG,
  NOTICE_LOG,
  WEIRD_LOG,
  SQL_LOG,
  NATS_LOG,
  STATS_LOG,
  LOG_SCHEMAS,
  type LogSchema,
  type LogValue,
  type ZeekType,
} from './schema.js';
export {
  formatTsvHeader,
  formatTsvRow,
  formatTsvClose,
  formatTsvValue,
  formatLogStamp,
  escapeTsv,
  TSV_EMPTY,
  TSV_UNSET,
} from './tsv-format.js';
export { formatJsonRow } from './json-format.js';
export { MemoryLogTarget, NullLogTarget, DirLogTarget, type LogTarget } from './log-target.js';
export { ZeekLogWriter, type LogFormat, type LogWriterOptions } from './log-writer.js';
export { parseZeekTsv, type ParsedZeekLog } from './tsv-parse.js';
export { statsRow } from './stats-row.js';
