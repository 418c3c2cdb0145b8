export { classifySql, classifySqlStatements } from './classify.js';
export type { SqlKind } from './classify.js';
