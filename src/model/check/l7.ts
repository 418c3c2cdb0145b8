import { diag, type Diagnostic } from '../../diagnostics/index.js';
import { fieldOf, type CheckContext } from './context.js';
import {
  HTTP_METHODS,
  httpPathProblem,
  isHeaderName,
  isHttpMethod,
  isSqlStatement,
  isSqlTable,
  natsSubjectProblem,
  SQL_STATEMENTS,
} from '../l7-syntax.js';
import { didYouMean } from '../suggest.js';
import type { App, IdentityField } from '../types.js';

/** Application-layer constraints are well formed, so monitors can match them. */
export function checkL7(app: App, ctx: CheckContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  const { locate } = ctx;
  for (const r of app.requirements) {
    const field = fieldOf(r, `requirements[${r.id}]`);
    if (r.http) {
      const f = `${field}.http`;
      r.http.methods.forEach((m, i) => {
        if (!isHttpMethod(m)) {
          out.push(
            diag(
              'E_HTTP_METHOD',
              `unknown HTTP method "${m}"; expected one of ${HTTP_METHODS.join(', ')}${didYouMean(m, HTTP_METHODS)}`,
              locate(`${f}.methods[${i}]`),
            ),
          );
        }
      });
      r.http.paths.forEach((p, i) => {
        const problem = httpPathProblem(p);
        if (problem) out.push(diag('E_HTTP_PATH', `path pattern ${JSON.stringify(p)} ${problem}`, locate(`${f}.paths[${i}]`)));
      });
      if (r.http.identity) identityProblems(r.http.identity, ['header', 'json', 'path'], `${f}.identity`, 'http', out, ctx);
    }
    if (r.sql) {
      const f = `${field}.sql`;
      r.sql.statements.forEach((s, i) => {
        if (!isSqlStatement(s)) {
          out.push(
            diag(
              'E_SQL_STATEMENT',
              `unknown SQL statement kind "${s}"; expected one of ${SQL_STATEMENTS.join(', ')}${didYouMean(s, SQL_STATEMENTS)}`,
              locate(`${f}.statements[${i}]`),
            ),
          );
        }
      });
      r.sql.tables.forEach((t, i) => {
        if (!isSqlTable(t))
          out.push(
            diag(
              'E_SQL_TABLE',
              `table ${JSON.stringify(t)} is not a table name (an identifier, optionally "schema.table")`,
              locate(`${f}.tables[${i}]`),
            ),
          );
      });
      if (r.sql.identity) identityProblems(r.sql.identity, ['sql-param'], `${f}.identity`, 'sql', out, ctx);
    }
    if (r.nats) {
      const f = `${field}.nats`;
      for (const dir of ['publish', 'subscribe'] as const) {
        r.nats[dir].forEach((s, i) => {
          const problem = natsSubjectProblem(s);
          if (problem) out.push(diag('E_NATS_SUBJECT', `NATS subject ${JSON.stringify(s)} ${problem}`, locate(`${f}.${dir}[${i}]`)));
        });
      }
    }
  }
  return out;
}

function identityProblems(
  id: IdentityField,
  kinds: readonly IdentityField['kind'][],
  field: string,
  constraint: string,
  out: Diagnostic[],
  ctx: CheckContext,
): void {
  const bad = (msg: string, sub: string): void => void out.push(diag('E_IDENTITY', msg, ctx.locate(`${field}.${sub}`)));
  if (!kinds.includes(id.kind)) {
    bad(`identity kind "${id.kind}" cannot be used in a ${constraint} constraint; expected ${kinds.join(' or ')}`, 'kind');
    return;
  }
  switch (id.kind) {
    case 'header':
      if (!isHeaderName(id.name)) bad(`"${id.name}" is not an HTTP header name`, 'name');
      break;
    case 'json':
      if (!/^[A-Za-z_$][\w$-]*(?:\.[A-Za-z_$][\w$-]*)*$/.test(id.name))
        bad(`"${id.name}" is not a dotted JSON path like "user.id"`, 'name');
      break;
    case 'sql-param':
      if (!/^[1-9]\d{0,4}$/.test(id.name)) bad(`SQL parameter number must be a whole number from 1 (as in $1); got "${id.name}"`, 'name');
      break;
    case 'path':
      if (!/^(?:0|[1-9]\d{0,3})$/.test(id.name))
        bad(`path segment index must be a whole number from 0 (the first segment); got "${id.name}"`, 'name');
      break;
  }
}
