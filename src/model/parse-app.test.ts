import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseApp } from './parse-app.js';
import { loadApp } from './load-app.js';
import { BASE, findUp, variant } from './testing.js';
import type { App } from './types.js';

const DVD = findUp('examples/dvd-rental/app.yaml');
const WEB = findUp('examples/web-sql/app.yaml');

function mustLoad(path: string): App {
  const r = loadApp(path);
  assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.loc?.line}:${e.loc?.col} ${e.code} ${e.message}`).join('\n'));
  return r.value;
}

const codes = (text: string): string[] => {
  const r = parseApp(text, 't.yaml');
  return r.ok ? [] : r.errors.map((e) => e.code);
};

test('dvd-rental loads with its eight services, two nodes and L7 requirements', () => {
  const app = mustLoad(DVD);
  assert.equal(app.tenant, 'acme');
  assert.equal(app.name, 'dvd-rental');
  assert.equal(app.source, DVD);
  assert.deepEqual(app.services.map((s) => s.name).sort(), [
    'contract-update',
    'db',
    'dvd-return',
    'dvd-update',
    'mq',
    'shipping',
    'user-create',
    'user-update',
  ]);
  assert.deepEqual(
    app.nodes.map((n) => n.name),
    ['node1', 'node2'],
  );
  const nodeOf = (s: string) => app.instances.filter((i) => i.service === s).map((i) => i.node);
  assert.deepEqual(nodeOf('db'), ['node2']);
  assert.deepEqual(nodeOf('mq'), ['node2']);
  assert.ok(new Set(app.instances.map((i) => i.node)).size === 2, 'services on both nodes');

  const db = app.services.find((s) => s.name === 'db')!;
  assert.deepEqual(db.ports, [{ name: 'pg', protocol: 'tcp', port: 5432, app: 'postgres' }]);

  // Requirement ids are list positions.
  for (const [i, r] of app.requirements.entries()) assert.equal(r.id, i);
  const toDb = app.requirements
    .filter((r) => r.to === 'db')
    .map((r) => r.from)
    .sort();
  assert.deepEqual(toDb, ['dvd-update', 'user-create', 'user-update'], 'dvd-return and shipping have no database access');
  const ret = app.requirements.find((r) => r.from === 'dvd-return')!;
  assert.equal(ret.to, 'dvd-update');
  assert.deepEqual(ret.http?.paths, ['/returns']);
  assert.match(ret.note ?? '', /no database access/);

  const userUpdate = app.requirements.find((r) => r.from === 'user-update')!;
  assert.deepEqual(userUpdate.sql, { statements: ['SELECT', 'UPDATE'], tables: ['users'], identity: { kind: 'sql-param', name: '1' } });
  const external = app.requirements.filter((r) => r.from === 'external');
  assert.deepEqual(external.map((r) => r.to).sort(), ['contract-update', 'dvd-return', 'user-create']);
  for (const r of external) assert.deepEqual(r.http?.identity, { kind: 'header', name: 'x-user-id' });
  const pub = app.requirements.find((r) => r.from === 'contract-update' && r.to === 'mq')!;
  assert.deepEqual(pub.nats, { publish: ['rentals.created'], subscribe: [] });
  const sub = app.requirements.find((r) => r.from === 'dvd-update' && r.to === 'mq')!;
  assert.deepEqual(sub.nats, { publish: [], subscribe: ['rentals.>'] });

  const inspects = new Set(app.monitors.flatMap((m) => m.inspects));
  assert.ok(inspects.has('http') && inspects.has('postgres'));
  assert.deepEqual([...new Set(app.monitors.map((m) => m.node))].sort(), ['node1', 'node2']);
});

test('web-sql loads: one node, web public, sql speaking postgres on 3306', () => {
  const app = mustLoad(WEB);
  assert.equal(app.nodes.length, 1);
  assert.deepEqual(
    app.instances.map((i) => i.name),
    ['web-0', 'sql-0'],
  );
  assert.equal(app.services.find((s) => s.name === 'web')?.exposure, 'public');
  assert.deepEqual(app.services.find((s) => s.name === 'sql')?.ports, [{ name: 'sql', protocol: 'tcp', port: 3306, app: 'postgres' }]);
  assert.deepEqual(
    app.requirements.map((r) => [r.from, r.to, r.port]),
    [
      ['external', 'web', 'http'],
      ['web', 'sql', 'sql'],
    ],
  );
});

test('defaults fill what the descriptor leaves out', () => {
  const r = parseApp(
    'tenant: t\napp: a\nnodes: [{name: n1}]\nservices:\n  s:\n    ports: [{name: p, port: 9}]\nmonitors: [{name: m, node: n1}]\n',
    'd.yaml',
  );
  assert.ok(r.ok);
  const app = r.value;
  assert.equal(app.network, '10.77.0.0/16');
  const s = app.services[0];
  assert.deepEqual(
    { exposure: s.exposure, replicas: s.replicas, placement: s.placement, labels: s.labels, run: s.run },
    {
      exposure: 'internal',
      replicas: 1,
      placement: [],
      labels: {},
      run: undefined,
    },
  );
  assert.deepEqual(s.ports[0], { name: 'p', protocol: 'tcp', port: 9, app: 'other' });
  assert.deepEqual({ capacity: app.monitors[0].capacity, inspects: app.monitors[0].inspects }, { capacity: 1000, inspects: ['any'] });
  assert.deepEqual(app.requirements, []);
});

test('run specs keep args and stringify env values', () => {
  const text = variant(9, 'ports:', 'run: {command: node, args: [svc.js, --port, "80"], env: {PORT: 80, DEBUG: true}}\n    ports:');
  const r = parseApp(text, 'r.yaml');
  assert.ok(r.ok);
  assert.deepEqual(r.value.services[0].run, { command: 'node', args: ['svc.js', '--port', '80'], env: { PORT: '80', DEBUG: 'true' } });
});

test('instances are <service>-<ordinal>, round robin over placement or all nodes', () => {
  const text = [
    'tenant: t',
    'app: a',
    'nodes: [{name: n1}, {name: n2}, {name: n3}]',
    'services:',
    '  a: {replicas: 5, placement: [n3, n1]}',
    '  b: {replicas: 4}',
    '',
  ].join('\n');
  const r = parseApp(text, 'i.yaml');
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  assert.deepEqual(
    r.value.instances.map((i) => `${i.name}@${i.node}#${i.ordinal}`),
    ['a-0@n3#0', 'a-1@n1#1', 'a-2@n3#2', 'a-3@n1#3', 'a-4@n3#4', 'b-0@n1#0', 'b-1@n2#1', 'b-2@n3#2', 'b-3@n1#3'],
  );
});

test('HTTP methods and SQL kinds are upper-cased, header names lower-cased', () => {
  const text = variant(23, '{methods: [GET], paths: [/]}', '{methods: [get, Post], paths: [/], identity: {kind: header, name: X-User-Id}}');
  const r = parseApp(variant(26, '[SELECT]', '[select]', text), 'n.yaml');
  assert.ok(r.ok);
  assert.deepEqual(r.value.requirements[0].http, {
    methods: ['GET', 'POST'],
    paths: ['/'],
    identity: { kind: 'header', name: 'x-user-id' },
  });
  assert.deepEqual(r.value.requirements[1].sql?.statements, ['SELECT']);
});

test('every error is collected, across structure and meaning, in file order', () => {
  let text = variant(10, 'app: http}', 'app: http, prot: tcp}'); // structural, line 10
  text = variant(12, '[n2]', '[n9]', text); // unknown node, line 12
  text = variant(19, 'capacity: 100', 'capacity: 0', text); // capacity, line 19
  text = variant(25, 'db:pg', 'db:pgx', text); // unknown port, line 25
  text = variant(29, 'orders.new', 'orders..new', text); // NATS subject, line 29
  const r = parseApp(text, 'all.yaml');
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(
    r.errors.map((e) => [e.code, e.loc?.line]),
    [
      ['E_UNKNOWN_KEY', 10],
      ['E_UNKNOWN_NODE', 12],
      ['E_CAPACITY', 19],
      ['E_UNKNOWN_PORT', 25],
      ['E_NATS_SUBJECT', 29],
    ],
  );
  // The requirement to web:http still refers to web, which failed structurally: no follow-on error.
  assert.ok(!r.errors.some((e) => e.code === 'E_UNKNOWN_SERVICE'));
});

test('several problems in one entry are all reported', () => {
  const text = variant(10, '{name: http, port: 80, app: http}', '{name: http, port: 0, app: http, protocol: udp}');
  assert.deepEqual(codes(text), ['E_PORT_RANGE', 'E_PORT_APP']);
});

test('duplicate requirements: identical constraints or an unconstrained twin; different constraints are fine', () => {
  const twin = (l7: string) => variant(29, '{publish: [orders.new]}', `{publish: [orders.new]}\n  - {from: web, to: mq:nats${l7}}`);
  assert.deepEqual(codes(twin('')), ['E_DUP_REQUIREMENT']);
  assert.deepEqual(codes(twin(', nats: {publish: [orders.new]}')), ['E_DUP_REQUIREMENT']);
  assert.deepEqual(codes(twin(', nats: {subscribe: [orders.done]}')), []);
});

test('L7 mismatch for each constraint kind', () => {
  assert.deepEqual(codes(variant(29, 'nats: {publish: [orders.new]}', 'sql: {statements: [SELECT]}')), ['E_L7_MISMATCH']);
  assert.deepEqual(codes(variant(23, 'http: {methods: [GET], paths: [/]}', 'nats: {publish: [a]}')), ['E_L7_MISMATCH']);
});

test('identity fields are checked for their kind', () => {
  const http = (id: string) => variant(23, 'paths: [/]}', `paths: [/], identity: ${id}}`);
  assert.deepEqual(codes(http('{kind: path, name: 1}')), []);
  assert.deepEqual(codes(http('{kind: json, name: user.id}')), []);
  assert.deepEqual(codes(http('{kind: path, name: x}')), ['E_IDENTITY']);
  assert.deepEqual(codes(http('{kind: header, name: "bad header"}')), ['E_IDENTITY']);
  assert.deepEqual(codes(http('{kind: sql-param, name: 1}')), ['E_IDENTITY']);
  const sql = (id: string) => variant(26, 'tables: [items]}', `tables: [items], identity: ${id}}`);
  assert.deepEqual(codes(sql('{kind: sql-param, name: 0}')), ['E_IDENTITY']);
  assert.deepEqual(codes(sql('{kind: sql-param, name: 2}')), []);
});

test('the network must fit every node, instance and monitor, without allocating them first', () => {
  const onN2 = (replicas: number) => variant(12, 'placement: [n2]', `placement: [n2]\n    replicas: ${replicas}`);
  const huge = onN2(1e9);
  const started = Date.now();
  assert.deepEqual(codes(huge), ['E_ADDRESS_SPACE']);
  assert.ok(Date.now() - started < 2000);
  assert.deepEqual(codes(onN2(253)), []);
  assert.deepEqual(codes(onN2(254)), ['E_ADDRESS_SPACE']);
  // Without placement, replicas spread over both nodes: each overflows and each is named.
  const spread = parseApp(variant(12, 'placement: [n2]', 'replicas: 600'), 's.yaml');
  assert.equal(spread.ok, false);
  if (!spread.ok) {
    assert.deepEqual(
      spread.errors.map((e) => e.code),
      ['E_ADDRESS_SPACE', 'E_ADDRESS_SPACE'],
    );
    assert.match(spread.errors[0].message + spread.errors[1].message, /"n1".*"n2"/);
  }
  assert.deepEqual(codes(variant(2, 'app: shop', 'app: shop\nnetwork: 10.250.0.0/16')), ['E_CIDR']);
  assert.deepEqual(codes(variant(2, 'app: shop', 'app: shop\nnetwork: 10.77.0.0/22')), []);
});

test('a non-integer replica count and port number are range errors, not crashes', () => {
  assert.deepEqual(codes(variant(12, 'placement: [n2]', 'replicas: 1.5')), ['E_REPLICAS']);
  assert.deepEqual(codes(variant(14, 'port: 5432', 'port: 54.32')), ['E_PORT_RANGE']);
  assert.deepEqual(codes(variant(14, 'port: 5432', 'port: .nan')), ['E_TYPE']);
});

test('shape errors: an infinite number is the wrong type, a number where a choice belongs names the choices, one error per field', () => {
  const said = (text: string) => {
    const r = parseApp(text, 'a.yaml');
    return r.ok ? [] : r.errors.map((e) => `${e.loc?.field} ${e.code} ${e.message}`);
  };
  assert.deepEqual(said(variant(14, 'port: 5432', 'port: .inf')), [
    'services.db.ports[0].port E_TYPE expected a number, got the number Infinity',
  ]);
  assert.deepEqual(said(variant(12, 'placement: [n2]', 'replicas: -.inf')), [
    'services.db.replicas E_TYPE expected a number, got the number -Infinity',
  ]);
  assert.deepEqual(said(variant(12, 'placement: [n2]', 'labels: {tier: .inf}')), [
    'services.db.labels.tier E_TYPE expected a string or a number or true or false, got the number Infinity',
  ]);
  assert.deepEqual(said(variant(8, 'exposure: public', 'exposure: 7')), [
    'services.web.exposure E_ENUM expected one of "public", "internal"; got the number 7',
  ]);
  assert.deepEqual(said(variant(19, 'inspects: [http]', 'inspects: [http, 3]')), [
    'monitors[0].inspects[1] E_ENUM expected one of "http", "postgres", "nats", "mysql", "dns", "other", "any"; got the number 3',
  ]);
  // A list where a non-empty string belongs is one problem, not also a length complaint.
  assert.deepEqual(said(variant(9, 'ports:', 'run: {command: []}\n    ports:')), [
    'services.web.run.command E_TYPE expected a string, got a list',
  ]);
});

test('unknown node in a monitor; external to a non-public service; requirement to external', () => {
  assert.deepEqual(codes(variant(19, 'node: n1', 'node: n7')), ['E_UNKNOWN_NODE']);
  assert.deepEqual(codes(variant(22, 'to: web:http', 'to: db:pg').replace('    http: {methods: [GET], paths: [/]}\n', '    \n')), [
    'E_EXTERNAL_TO_INTERNAL',
  ]);
  assert.deepEqual(codes(variant(25, 'to: db:pg', 'to: external:pg')), ['E_UNKNOWN_SERVICE']);
});

test('hostile and malformed YAML gives errors, never a crash', () => {
  const cases: Array<[string, string]> = [
    ['', 'E_TYPE'],
    ['- a\n- b\n', 'E_TYPE'],
    ['tenant: a\n---\ntenant: b\n', 'E_YAML_SYNTAX'],
    ['tenant: !weird x\n', 'E_YAML_SYNTAX'],
    ['\u0000\u0001\u0002 binary: [}', 'E_YAML_SYNTAX'],
    ['tenant: a\n\tapp: b\n', 'E_YAML_SYNTAX'],
    ['[a]: 1\n', 'E_YAML_SYNTAX'],
    ['a: ' + '['.repeat(5000) + ']'.repeat(5000) + '\n', 'E_YAML_SYNTAX'],
  ];
  for (const [text, code] of cases) {
    const r = parseApp(text, 'h.yaml');
    assert.equal(r.ok, false, JSON.stringify(text.slice(0, 30)));
    if (r.ok) continue;
    assert.ok(
      r.errors.some((e) => e.code === code),
      `${JSON.stringify(text.slice(0, 30))}: ${r.errors.map((e) => e.code)}`,
    );
    for (const e of r.errors) assert.ok(e.loc?.line !== undefined && e.loc.col !== undefined && e.loc.file === 'h.yaml');
  }
});

test('alias expansion is bounded', () => {
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 0; i < 9; i++)
    lines.push(
      `${'bcdefghij'[i]}: &${'bcdefghij'[i]} [${Array(10)
        .fill('*' + (i === 0 ? 'a' : 'bcdefghij'[i - 1]))
        .join(', ')}]`,
    );
  const r = parseApp(lines.join('\n') + '\n', 'bomb.yaml');
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.errors[0].code, 'E_YAML_SYNTAX');
});

test('a __proto__ key is rejected and pollutes nothing', () => {
  const text = variant(9, 'ports:', 'labels: {__proto__: {polluted: yes}}\n    ports:');
  const r = parseApp(text, 'p.yaml');
  assert.equal(r.ok, false);
  if (!r.ok)
    assert.deepEqual(
      r.errors.map((e) => [e.code, e.loc?.line]),
      [['E_NAME', 9]],
    );
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(codes(variant(7, 'web:', '__proto__:')).slice(0, 1), ['E_NAME']);
});

test('label keys and env names are checked', () => {
  assert.deepEqual(codes(variant(9, 'ports:', 'labels: {"bad key": x}\n    ports:')), ['E_NAME']);
  assert.deepEqual(codes(variant(9, 'ports:', 'run: {command: x, env: {1X: y}}\n    ports:')), ['E_NAME']);
});

test('loadApp reports unreadable files as E_READ with the file name', () => {
  for (const path of ['/nonexistent/flowtap/app.yaml', findUp('examples')]) {
    const r = loadApp(path);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.errors[0].code, 'E_READ');
      assert.equal(r.errors[0].loc?.file, path);
    }
  }
});

test('the base fixture round-trips the requirement shapes', () => {
  const r = parseApp(BASE, 'b.yaml');
  assert.ok(r.ok);
  assert.deepEqual(
    r.value.requirements.map((q) => [q.id, q.from, q.to, q.port, q.loc?.line]),
    [
      [0, 'external', 'web', 'http', 21],
      [1, 'web', 'db', 'pg', 24],
      [2, 'web', 'mq', 'nats', 27],
    ],
  );
});
