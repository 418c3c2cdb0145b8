export { classifySql, classifySqlStatements } from './classify.js';
export type { SqlClass, SqlKind, SqlStatementClass } from './classify.js';
