import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Peer } from './app-view.js';
import { httpIdentity, jsonIdentity, sqlIdentity, traceIdOf } from './identity.js';
import { IntegrityTracker, type TrackedRequest } from './integrity.js';
import type { Notice } from './notice.js';
import { pathMatches, pathSegment, requestPath } from './path-pattern.js';
import { isProbe, sqlStatements, statementAllowed } from './sql-rules.js';
import { subjectCovers, subjectMatches } from './subject-match.js';
import { SynFloodDetector } from './syn-flood.js';
import { Suppressor } from './suppressor.js';

test('HTTP path patterns: * is one segment, trailing ** the rest, dot segments never match a wildcard', () => {
  assert.ok(pathMatches('/users/*/bill', '/users/42/bill'));
  assert.ok(pathMatches('/users/*/bill', '/users/%34%32/bill'));
  assert.ok(!pathMatches('/users/*/bill', '/users/42/bill/x'));
  assert.ok(!pathMatches('/users/*/bill', '/users//bill'));
  assert.ok(!pathMatches('/users/*/bill', '/users/../bill'));
  assert.ok(!pathMatches('/users/*/bill', '/users/%2e%2e/bill'));
  assert.ok(pathMatches('/static/**', '/static/a/b/c.css'));
  assert.ok(pathMatches('/static/**', '/static'));
  assert.ok(!pathMatches('/static/**', '/static/../admin'));
  assert.ok(!pathMatches('/static/**', '/staticx'));
  assert.ok(pathMatches('*', '/anything'));
  assert.ok(pathMatches('/contracts', '/contracts'));
  assert.ok(!pathMatches('/contracts', '/contracts/'));
  assert.equal(requestPath('/a/b?x=1#f'), '/a/b');
  assert.equal(requestPath('http://host:80/a?q'), '/a');
  assert.equal(pathSegment('/users/7/bill', 1), '7');
  assert.equal(pathSegment('/users', 3), undefined);
});

test('NATS subjects: matching literal subjects and covering wildcard subscriptions', () => {
  assert.ok(subjectMatches('rentals.>', 'rentals.created'));
  assert.ok(subjectMatches('rentals.>', 'rentals.a.b'));
  assert.ok(!subjectMatches('rentals.>', 'rentals'));
  assert.ok(subjectMatches('rentals.*', 'rentals.created'));
  assert.ok(!subjectMatches('rentals.*', 'rentals.a.b'));
  assert.ok(!subjectMatches('rentals.created', 'rentals.deleted'));
  assert.ok(subjectCovers('rentals.>', 'rentals.*'));
  assert.ok(subjectCovers('rentals.>', 'rentals.>'));
  assert.ok(subjectCovers('rentals.*', 'rentals.created'));
  assert.ok(!subjectCovers('rentals.*', 'rentals.>'));
  assert.ok(!subjectCovers('rentals.created', 'rentals.*'));
  assert.ok(!subjectCovers('rentals.>', '>'));
  assert.ok(!subjectCovers('rentals.>', '*.created'));
});

test('SQL rules: kinds and tables per statement, session control and probes allowed, other OTHER statements not', () => {
  const c = { statements: ['SELECT', 'UPDATE'] as ('SELECT' | 'UPDATE')[], tables: ['public.users'] };
  const ok = (sql: string) => sqlStatements(sql).every((s) => statementAllowed(c, s));
  assert.ok(ok('SELECT id FROM users WHERE id = $1'));
  assert.ok(ok('UPDATE public.users SET balance = 1 WHERE id = $1'));
  assert.ok(ok('BEGIN; UPDATE users SET x = 1; COMMIT'));
  assert.ok(ok('SET statement_timeout = 5'));
  assert.ok(ok('SELECT 1'));
  // a table-less SELECT is within "SELECT on users"; where only INSERT is allowed it is not, unless it is a mere probe
  const insertOnly = { statements: ['INSERT'] as 'INSERT'[], tables: ['users'] };
  assert.ok(!sqlStatements("SELECT pg_read_file('/etc/passwd')").every((s) => statementAllowed(insertOnly, s)));
  assert.ok(sqlStatements('SELECT 1').every((s) => statementAllowed(insertOnly, s)));
  assert.ok(!ok('DELETE FROM users'));
  assert.ok(!ok('SELECT * FROM users JOIN rentals ON true'));
  assert.ok(!ok('SELECT 1; DROP TABLE users'));
  assert.ok(!ok("COPY users TO '/tmp/x'"));
  assert.ok(sqlStatements("COPY users TO '/tmp/x'").every((s) => statementAllowed({ statements: [], tables: [] }, s)));
  assert.ok(isProbe('SELECT', [], "SELECT 1, 'a(b)' AS x"));
  assert.ok(!isProbe('SELECT', [], 'SELECT (SELECT 1)'));
});

test('identity extraction: header, JSON path, path segment, SQL parameter; traceparent validation', () => {
  const req = {
    uri: '/users/7/bill?x=1',
    headers: [
      ['x-user-id', ' 7 '],
      ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ] as const,
    body: new TextEncoder().encode('{"user":{"id":42},"list":[5]}'),
  };
  assert.equal(httpIdentity({ kind: 'header', name: 'X-User-Id' }, req), '7');
  assert.equal(httpIdentity({ kind: 'json', name: 'user.id' }, req), '42');
  assert.equal(httpIdentity({ kind: 'json', name: 'list.0' }, req), '5');
  assert.equal(httpIdentity({ kind: 'json', name: 'user' }, req), undefined);
  assert.equal(httpIdentity({ kind: 'path', name: '1' }, req), '7');
  assert.equal(jsonIdentity(new TextEncoder().encode('{bad'), 'a'), undefined);
  assert.equal(sqlIdentity({ kind: 'sql-param', name: '2' }, ['1', '9']), '9');
  assert.equal(sqlIdentity({ kind: 'sql-param', name: '3' }, ['1']), undefined);
  assert.equal(traceIdOf(req.headers[1][1]), '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(traceIdOf('00-00000000000000000000000000000000-00f067aa0ba902b7-01'), undefined);
  assert.equal(traceIdOf('ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), undefined);
  assert.equal(traceIdOf('garbage'), undefined);
});

const peer = (service: string, instance?: string): Peer => ({ ip: `10.0.0.${service.length}`, service, instance });
const ID = { origH: '10.0.0.1', origP: 1, respH: '10.0.0.2', respP: 2, proto: 'tcp' };
function req(t: IntegrityTracker, o: Partial<TrackedRequest> & { ts: number; from: Peer; to: Peer }): TrackedRequest {
  return t.request({
    uid: o.uid ?? `C${o.ts}`,
    id: ID,
    kind: o.kind ?? 'http',
    ts: o.ts,
    from: o.from,
    to: o.to,
    traceId: o.traceId,
    describe: o.describe ?? 'POST /x',
    identity: o.identity,
    field: o.field,
  });
}
const EXT = peer('external');
const A = peer('front', 'front-0');
const B = peer('back', 'back-0');
const DB = peer('db', 'db-0');
const header = { kind: 'header' as const, name: 'x-user-id' };
const param = { kind: 'sql-param' as const, name: '1' };

test('integrity: a trace id learnt from the response settles requests made before it', () => {
  const notices: Notice[] = [];
  const t = new IntegrityTracker((n) => notices.push(n));
  const e = req(t, { ts: 1, from: EXT, to: A, identity: 'alice', uid: 'Cext' });
  const inner = req(t, { ts: 1.1, from: A, to: B, traceId: 'abc', identity: 'bob', field: header, uid: 'Cin' });
  assert.equal(t.pendingCount, 1);
  t.response(e, 1.2, 'abc');
  assert.equal(t.pendingCount, 0);
  assert.equal(inner.roots?.[0], e);
  assert.equal(notices.length, 1);
  assert.equal(notices[0].evidence.expected, 'alice');
  assert.equal(notices[0].evidence.seen, 'bob');
  assert.deepEqual(notices[0].evidence.uids, ['Cin', 'Cext']);
});

test('integrity: nesting through a chain of instances; several requests in progress accept any of their identities', () => {
  const notices: Notice[] = [];
  const t = new IntegrityTracker((n) => notices.push(n));
  const e1 = req(t, { ts: 1, from: EXT, to: A, identity: 'u1' });
  const e2 = req(t, { ts: 1.01, from: EXT, to: A, identity: 'u2' });
  const call = req(t, { ts: 1.1, from: A, to: B, identity: 'u2', field: header });
  assert.deepEqual(call.roots, [e1, e2]);
  req(t, { ts: 1.2, kind: 'sql', from: B, to: DB, identity: 'u2', field: param });
  assert.equal(notices.length, 0);
  req(t, { ts: 1.3, kind: 'sql', from: B, to: DB, identity: 'u3', field: param, describe: 'SELECT ...' });
  assert.equal(notices.length, 1);
  assert.deepEqual(notices[0].evidence.expected, ['u1', 'u2']);
  t.response(call, 1.4, undefined);
  // after the call has been answered, B is idle: a later query belongs to nothing
  req(t, { ts: 1.5, kind: 'sql', from: B, to: DB, identity: 'u2', field: param });
  req(t, { ts: 1.6, kind: 'sql', from: B, to: DB, identity: 'u2', field: param });
  const un = notices.filter((n) => n.note === 'FlowTap::Unattributed_Request');
  assert.equal(un.length, 1, 'rate-limited');
  assert.equal(t.stats.unattributed, 2);
  t.finish(2);
  assert.equal(notices.filter((n) => n.note === 'FlowTap::Unattributed_Request').length, 2, 'the suppressed one is reported at the end');
  assert.equal(t.stats.ambiguous, 3);
});

test('integrity: an unknown trace id falls back to nesting after the timeout', () => {
  const notices: Notice[] = [];
  const t = new IntegrityTracker((n) => notices.push(n));
  req(t, { ts: 1, from: EXT, to: A, identity: 'u1' });
  const inner = req(t, { ts: 1.1, from: A, to: B, traceId: 'never-seen', identity: 'u1', field: header });
  t.tick(5);
  assert.equal(inner.roots, null);
  t.tick(12);
  assert.equal((inner.roots as TrackedRequest[] | null)?.length, 1);
  assert.equal(notices.length, 0);
  assert.equal(t.stats.attributedByNesting, 1);
});

test('SYN flood: threshold within the window per source, out-of-order closes, suppression', () => {
  const notices: Notice[] = [];
  const d = new SynFloodDetector((n) => notices.push(n), {
    threshold: 10,
    window: 5,
    overall: true,
    overallThreshold: 15,
    suppressFor: 60,
    maxKeys: 100,
  });
  const id = (src: string) => ({ origH: src, origP: 1, respH: '10.0.0.9', respP: 80, proto: 'tcp' });
  // 9 spread over 20 s: never 10 within 5 s
  for (let i = 0; i < 9; i++) d.closed('C', id('1.1.1.1'), 'S0', 100 + i * 2.5, { service: 'web' });
  // established connections do not count
  for (let i = 0; i < 20; i++) d.closed('C', id('1.1.1.1'), 'SF', 130, { service: 'web' });
  assert.equal(notices.length, 0);
  // 10 within a second, reported out of order
  for (const ts of [200.9, 200.1, 200.5, 200.2, 200.3, 200.4, 200.6, 200.7, 200.8, 200.0])
    d.closed('C', id('2.2.2.2'), 'REJ', ts, { service: 'web' });
  assert.equal(notices.length, 1);
  assert.equal(notices[0].src, '2.2.2.2');
  for (let i = 0; i < 10; i++) d.closed('C', id('2.2.2.2'), 'S0', 201, { service: 'web' });
  const overall = notices.filter((n) => n.src === undefined);
  assert.equal(overall.length, 1, 'the overall count crossed 15');
  assert.equal(notices.filter((n) => n.src === '2.2.2.2').length, 1, 'suppressed');
});

test('suppressor: identical notices are held back for the interval', () => {
  const s = new Suppressor(2);
  assert.ok(s.allow('a', 0, 10));
  assert.ok(!s.allow('a', 5, 10));
  assert.ok(s.allow('a', 10, 10));
  assert.ok(s.allow('b', 10, 10));
  assert.ok(s.allow('c', 10, 10));
  assert.equal(s.suppressed, 1);
});
