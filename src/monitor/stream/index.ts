export type { Dir, StreamParser } from './stream-parser.js';
export { LineReader, LINE_PARTIAL, LINE_TOO_LONG } from './line-reader.js';
export {
  CR,
  LF,
  SP,
  HT,
  EMPTY_BYTES,
  viewOf,
  isWs,
  indexOfByte,
  skipWs,
  trimWsEnd,
  latin1,
  utf8,
  isTchar,
  printable,
  printableText,
  parseDecimal,
  asciiLowerEquals,
  startsWithAscii,
} from './bytes.js';
