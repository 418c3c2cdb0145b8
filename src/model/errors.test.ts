import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseApp } from './parse-app.js';
import { BASE, colOf, variant } from './testing.js';

interface Case {
  code: string;
  text: string;
  /** Where the single error must point: line, and the token on that line it starts at. */
  line: number;
  at: string;
  field?: string;
  /** Words the message must contain, so it says what was expected. */
  says: string[];
}

const v = variant;

const cases: Case[] = [
  {
    code: 'E_YAML_SYNTAX',
    text: v(10, '{name: http, port: 80, app: http}', '{name: http, port: 80, app: http'),
    line: 11,
    at: 'db',
    says: ['Flow map', 'BAD_INDENT'],
  },
  {
    code: 'E_DUPLICATE_KEY',
    text: BASE.replace('    exposure: public\n', '    exposure: public\n    exposure: internal\n'),
    line: 9,
    at: 'exposure',
    says: ['unique'],
  },
  {
    code: 'E_UNKNOWN_KEY',
    text: v(10, 'app: http}', 'app: http, proto: tcp}'),
    line: 10,
    at: 'proto',
    field: 'services.web.ports[0].proto',
    says: ['"proto"', 'allowed keys: name, protocol, port, app', 'did you mean "protocol"'],
  },
  { code: 'E_MISSING_KEY', text: v(2, 'app: shop', ''), line: 1, at: 'tenant', field: 'app', says: ['"app"', 'a string'] },
  {
    code: 'E_TYPE',
    text: v(10, 'port: 80', 'port: "80"'),
    line: 10,
    at: '"80"',
    field: 'services.web.ports[0].port',
    says: ['expected a number', 'the string "80"'],
  },
  {
    code: 'E_ENUM',
    text: v(8, 'public', 'publik'),
    line: 8,
    at: 'publik',
    field: 'services.web.exposure',
    says: ['"public", "internal"', 'did you mean "public"'],
  },
  {
    code: 'E_SCHEMA',
    text: v(9, 'ports:', 'run: {command: ""}\n    ports:'),
    line: 9,
    at: '""',
    field: 'services.web.run.command',
    says: ['must not be empty'],
  },
  {
    code: 'E_NAME',
    text: v(7, 'web:', 'Web:').replace('to: web:http', 'to: Web:http').replaceAll('from: web', 'from: Web'),
    line: 7,
    at: 'Web',
    field: 'services.Web',
    says: ['service name "Web"', 'lowercase'],
  },
  {
    code: 'E_RESERVED_NAME',
    text: v(15, 'mq:', 'external:').replace('to: mq:nats', 'to: external:nats'),
    line: 15,
    at: 'external',
    field: 'services.external',
    says: ['"external"'],
  },
  {
    code: 'E_NO_NODES',
    text: BASE.replace('nodes:\n  - name: n1\n  - name: n2', 'nodes: []\n\n'),
    line: 3,
    at: '[]',
    field: 'nodes',
    says: ['at least one node'],
  },
  {
    code: 'E_NO_SERVICES',
    text: 'tenant: a\napp: b\nnodes: [{name: n1}]\nservices: {}\nrequirements: [{from: x, to: y:z}]\n',
    line: 4,
    at: '{}',
    field: 'services',
    says: ['at least one service'],
  },
  {
    code: 'E_CIDR',
    text: v(2, 'app: shop', 'app: shop\nnetwork: 10.77.0.0/33'),
    line: 3,
    at: '10.77',
    field: 'network',
    says: ['prefix "33"'],
  },
  {
    code: 'E_ADDRESS_SPACE',
    text: variant(2, 'app: shop', 'app: shop\nnetwork: 10.77.0.0/23'),
    line: 3,
    at: '10.77',
    field: 'network',
    says: ['2 /24 block(s)', '2 node(s)', '/22'],
  },
  {
    code: 'E_REPLICAS',
    text: v(12, 'placement: [n2]', 'replicas: 0'),
    line: 12,
    at: '0',
    field: 'services.db.replicas',
    says: ['at least 1', 'got 0'],
  },
  {
    code: 'E_PORT_RANGE',
    text: v(10, 'port: 80', 'port: 65536'),
    line: 10,
    at: '65536',
    field: 'services.web.ports[0].port',
    says: ['1 to 65535'],
  },
  {
    code: 'E_PORT_APP',
    text: v(14, 'app: postgres}', 'app: postgres, protocol: udp}'),
    line: 14,
    at: 'udp',
    field: 'services.db.ports[0].protocol',
    says: ['postgres runs over tcp'],
  },
  {
    code: 'E_DUP_PORT_NAME',
    text: v(10, '{name: http, port: 80, app: http}', '{name: http, port: 80, app: http}\n      - {name: http, port: 81, app: http}'),
    line: 11,
    at: 'http',
    field: 'services.web.ports[1].name',
    says: ['already has a port named "http"'],
  },
  {
    code: 'E_DUP_PORT_NUMBER',
    text: v(10, '{name: http, port: 80, app: http}', '{name: http, port: 80, app: http}\n      - {name: alt, port: 80, app: http}'),
    line: 11,
    at: '80',
    field: 'services.web.ports[1].port',
    says: ['tcp/80'],
  },
  {
    code: 'E_DUP_NODE',
    text: v(5, 'name: n2', 'name: n1').replace('placement: [n2]', 'placement: [n1]'),
    line: 5,
    at: 'n1',
    field: 'nodes[1].name',
    says: ['"n1" is defined twice', 'line 4'],
  },
  {
    code: 'E_DUP_MONITOR',
    text: v(19, '{name: m1, node: n1, capacity: 100, inspects: [http]}', '{name: m1, node: n1}\n  - {name: m1, node: n2}'),
    line: 20,
    at: 'm1',
    field: 'monitors[1].name',
    says: ['"m1" is defined twice'],
  },
  {
    code: 'E_UNKNOWN_NODE',
    text: v(12, '[n2]', '[n3]'),
    line: 12,
    at: 'n3',
    field: 'services.db.placement[0]',
    says: ['unknown node "n3"', 'n1, n2'],
  },
  {
    code: 'E_DUP_PLACEMENT',
    text: v(12, '[n2]', '[n2, n2]'),
    line: 12,
    at: 'n2]',
    field: 'services.db.placement[1]',
    says: ['listed twice'],
  },
  {
    code: 'E_CAPACITY',
    text: v(19, 'capacity: 100', 'capacity: -5'),
    line: 19,
    at: '-5',
    field: 'monitors[0].capacity',
    says: ['positive', '-5'],
  },
  {
    code: 'E_TO_FORMAT',
    text: v(25, 'to: db:pg', 'to: db'),
    line: 25,
    at: 'db',
    field: 'requirements[1].to',
    says: ['"service:port"', 'e.g. "db:http"'],
  },
  {
    code: 'E_UNKNOWN_SERVICE',
    text: v(24, 'from: web', 'from: wbe'),
    line: 24,
    at: 'wbe',
    field: 'requirements[1].from',
    says: ['unknown service "wbe"', 'did you mean "web"'],
  },
  {
    code: 'E_UNKNOWN_PORT',
    text: v(25, 'to: db:pg', 'to: db:pgx'),
    line: 25,
    at: 'db:pgx',
    field: 'requirements[1].to',
    says: ['no port named "pgx"', 'its ports: pg'],
  },
  {
    code: 'E_EXTERNAL_TO_INTERNAL',
    text: v(8, 'exposure: public', 'exposure: internal'),
    line: 21,
    at: 'external',
    field: 'requirements[0].from',
    says: ['"web" is internal', 'exposure: public'],
  },
  {
    code: 'E_SELF_REQUIREMENT',
    text: v(28, 'to: mq:nats', 'to: web:http').replace('    nats: {publish: [orders.new]}', ''),
    line: 28,
    at: 'web:http',
    field: 'requirements[2].to',
    says: ['both "web"'],
  },
  {
    code: 'E_DUP_REQUIREMENT',
    text: v(29, '{publish: [orders.new]}', '{publish: [orders.new]}\n  - {from: web, to: mq:nats, nats: {publish: [orders.new]}}'),
    line: 30,
    at: '{from',
    field: 'requirements[3]',
    says: ['same constraints', 'line 27'],
  },
  {
    code: 'E_L7_MISMATCH',
    text: v(26, 'sql:', 'http:').replace('{statements: [SELECT], tables: [items]}', '{methods: [GET]}'),
    line: 26,
    at: 'http',
    field: 'requirements[1].http',
    says: ['http constraint', 'speaks postgres'],
  },
  {
    code: 'E_HTTP_METHOD',
    text: v(23, '[GET]', '[GET, FETCH]'),
    line: 23,
    at: 'FETCH',
    field: 'requirements[0].http.methods[1]',
    says: ['"FETCH"', 'GET, HEAD, POST'],
  },
  {
    code: 'E_HTTP_PATH',
    text: v(23, 'paths: [/]', 'paths: [/a/**/b]'),
    line: 23,
    at: '/a/**/b',
    field: 'requirements[0].http.paths[0]',
    says: ['"**" may only be the last segment'],
  },
  {
    code: 'E_SQL_STATEMENT',
    text: v(26, '[SELECT]', '[SELECT, MERGE]'),
    line: 26,
    at: 'MERGE',
    field: 'requirements[1].sql.statements[1]',
    says: ['"MERGE"', 'SELECT, INSERT, UPDATE, DELETE, DDL'],
  },
  {
    code: 'E_SQL_TABLE',
    text: v(26, 'tables: [items]', 'tables: ["items; drop"]'),
    line: 26,
    at: '"items; drop"',
    field: 'requirements[1].sql.tables[0]',
    says: ['not a table name'],
  },
  {
    code: 'E_NATS_SUBJECT',
    text: v(29, 'orders.new', 'orders.>.new'),
    line: 29,
    at: 'orders.>',
    field: 'requirements[2].nats.publish[0]',
    says: ['">" may only be the last token'],
  },
  {
    code: 'E_IDENTITY',
    text: v(26, 'tables: [items]', 'tables: [items], identity: {kind: header, name: x-user}'),
    line: 26,
    at: 'header',
    field: 'requirements[1].sql.identity.kind',
    says: ['cannot be used in a sql constraint', 'sql-param'],
  },
];

test('the base descriptor is valid', () => {
  const r = parseApp(BASE, 'base.yaml');
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors, null, 1));
});

for (const c of cases) {
  test(`${c.code}: one positioned error`, () => {
    const r = parseApp(c.text, 'app.yaml');
    assert.equal(r.ok, false, 'expected the descriptor to be rejected');
    if (r.ok) return;
    assert.deepEqual(
      r.errors.map((e) => e.code),
      [c.code],
      `errors: ${r.errors.map((e) => `${e.code} ${e.loc?.line}:${e.loc?.col} ${e.message}`).join(' | ')}`,
    );
    const e = r.errors[0];
    assert.equal(e.loc?.file, 'app.yaml');
    assert.equal(e.loc?.line, c.line, `line of: ${e.message}`);
    assert.equal(e.loc?.col, colOf(c.text, c.line, c.at), `column of: ${e.message}`);
    if (c.field !== undefined) assert.equal(e.loc?.field, c.field);
    for (const words of c.says) assert.ok(e.message.includes(words), `"${e.message}" should mention ${words}`);
  });
}

test('at least 15 distinct error codes are covered above', () => {
  assert.ok(new Set(cases.map((c) => c.code)).size >= 15);
});
