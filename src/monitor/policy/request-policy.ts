import type { HttpConstraint, IdentityField, NatsConstraint, Requirement, SqlConstraint } from '../../model/index.js';
import type { ConnContext } from './connection-policy.js';
import { peerName } from './integrity.js';
import { NoticeType, type Notice } from './notice.js';
import { pathMatches, requestPath } from './path-pattern.js';
import { describeSqlConstraint, sqlStatements, statementAllowed, type SqlStatementInfo } from './sql-rules.js';
import { subjectCovers, subjectMatches } from './subject-match.js';

/** The verdict on one request: the requirements that allow it, and a notice when none does. */
export interface RequestVerdict {
  allowedBy: Requirement[];
  notice?: Notice;
  /** Where the end-user identity is, by the first allowing requirement that says (else the first that says at all). */
  identity: IdentityField | undefined;
}

function identityOf(
  allowedBy: readonly Requirement[],
  all: readonly Requirement[],
  pick: (r: Requirement) => IdentityField | undefined,
): IdentityField | undefined {
  for (const r of allowedBy) {
    const f = pick(r);
    if (f) return f;
  }
  for (const r of all) {
    const f = pick(r);
    if (f) return f;
  }
  return undefined;
}

function httpAllows(c: HttpConstraint, method: string, path: string): boolean {
  if (c.methods.length > 0 && !c.methods.includes(method.toUpperCase())) return false;
  return c.paths.length === 0 || c.paths.some((p) => pathMatches(p, path));
}

export function describeHttpConstraint(c: HttpConstraint): string {
  const m = c.methods.length > 0 ? c.methods.join('|') : 'any method';
  const p = c.paths.length > 0 ? c.paths.join(' ') : 'any path';
  return `${m} ${p}`;
}

function base(
  ctx: ConnContext,
  ts: number,
  note: Notice['note'],
  msg: string,
  request: string,
  expected: string[],
  seen: string,
  extra: Record<string, unknown> = {},
): Notice {
  return {
    ts,
    note,
    msg,
    uid: ctx.uid,
    id: ctx.id,
    src: ctx.id.origH,
    dst: ctx.id.respH,
    p: ctx.id.respP,
    evidence: { uids: [ctx.uid], src: peerName(ctx.orig), dst: peerName(ctx.resp), port: ctx.id.respP, request, expected, seen, ...extra },
  };
}

/** An HTTP request on an allowed connection: some requirement's method and path must fit (no http constraint allows all). */
export function checkHttpRequest(ctx: ConnContext, ts: number, method: string, uri: string): RequestVerdict {
  const path = requestPath(uri);
  const allowedBy = ctx.allowed.filter((r) => !r.http || httpAllows(r.http, method, path));
  const identity = identityOf(allowedBy, ctx.allowed, (r) => r.http?.identity);
  if (allowedBy.length > 0 || !ctx.authorized || !ctx.inScope) return { allowedBy, identity };
  const expected = ctx.allowed.map((r) => describeHttpConstraint(r.http!));
  const request = `${method} ${uri}`;
  return {
    allowedBy,
    identity,
    notice: base(
      ctx,
      ts,
      NoticeType.DISALLOWED_HTTP_REQUEST,
      `${peerName(ctx.orig)} sent ${request} to ${peerName(ctx.resp)}; allowed: ${expected.join('; ')}`,
      request,
      expected,
      `${method} ${path}`,
    ),
  };
}

/**
 * A SQL query on an allowed connection: every statement in it must fit one requirement's
 * statement kinds and tables. Session control (BEGIN, COMMIT, SET, ...) is always allowed;
 * see sql-rules.ts.
 */
export function checkSqlQuery(ctx: ConnContext, ts: number, sql: string): RequestVerdict & { statements: SqlStatementInfo[] } {
  const statements = sqlStatements(sql);
  const constraints = ctx.allowed.map((r) => r.sql);
  const fits = (s: SqlStatementInfo): boolean => constraints.some((c) => !c || statementAllowed(c, s));
  const bad = statements.filter((s) => !fits(s));
  const allowedBy = ctx.allowed.filter((r) => !r.sql || statements.every((s) => statementAllowed(r.sql as SqlConstraint, s)));
  const identity = identityOf(allowedBy, ctx.allowed, (r) => r.sql?.identity);
  if (bad.length === 0 || !ctx.authorized || !ctx.inScope) return { allowedBy, identity, statements };
  const expected = constraints.map((c) => describeSqlConstraint(c!));
  const seen = bad.map(
    (s) =>
      `${s.kind === 'OTHER' ? (/^\S+/.exec(s.text)?.[0] ?? 'OTHER').toUpperCase() : s.kind} on ${s.tables.length > 0 ? s.tables.join('|') : 'no table'}`,
  );
  const request = clip(sql);
  return {
    allowedBy,
    identity,
    statements,
    notice: base(
      ctx,
      ts,
      NoticeType.DISALLOWED_SQL,
      `${peerName(ctx.orig)} ran ${seen.join(', ')} on ${peerName(ctx.resp)}; allowed: ${expected.join('; ')}`,
      request,
      expected,
      seen.length === 1 ? seen[0] : seen.join('; '),
      { statement: clip(bad[0].text) },
    ),
  };
}

/** A NATS PUB (publish) or SUB (subscribe) on an allowed connection. */
export function checkNatsSubject(ctx: ConnContext, ts: number, op: 'publish' | 'subscribe', subject: string): RequestVerdict {
  const ok = (c: NatsConstraint): boolean =>
    op === 'publish' ? c.publish.some((p) => subjectMatches(p, subject)) : c.subscribe.some((p) => subjectCovers(p, subject));
  const allowedBy = ctx.allowed.filter((r) => !r.nats || ok(r.nats));
  if (allowedBy.length > 0 || !ctx.authorized || !ctx.inScope) return { allowedBy, identity: undefined };
  const expected = ctx.allowed.map((r) => `${op} ${(op === 'publish' ? r.nats!.publish : r.nats!.subscribe).join(' ') || '(nothing)'}`);
  const request = `${op === 'publish' ? 'PUB' : 'SUB'} ${subject}`;
  return {
    allowedBy,
    identity: undefined,
    notice: base(
      ctx,
      ts,
      NoticeType.DISALLOWED_NATS_SUBJECT,
      `${peerName(ctx.orig)} may not ${op} ${subject} on ${peerName(ctx.resp)}; allowed: ${expected.join('; ')}`,
      request,
      expected,
      `${op} ${subject}`,
    ),
  };
}

function clip(s: string, max = 500): string {
  return s.length > max ? `${s.slice(0, max)}...` : s;
}
