/** The command line: exit codes 0 fine, 1 violations, 2 bad input with positioned errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main, type CloudEnv } from '../src/cli/index.js';
import { RecordingSystem } from '../src/system/index.js';

const dir = mkdtempSync(join(tmpdir(), 'flowtap-cli-'));
const DVD = 'examples/dvd-rental/app.yaml';
const base = readFileSync(DVD, 'utf8');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return cliIn({}, ...argv);
}

/** The deployment commands act on `cloud` (a recording system and a state folder of the test's own). */
async function cliIn(cloud: CloudEnv, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`) }, cloud);
  return { code, out, err };
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test('fine inputs exit 0', async () => {
  assert.equal((await cli('validate', 'examples/dvd-rental')).code, 0);
  assert.equal((await cli('validate', 'examples/web-sql')).code, 0);
  const nft = await cli('firewall', DVD, '--format', 'nft');
  assert.equal(nft.code, 0);
  assert.match(nft.out, /table inet flowtap/);
  const k8s = await cli('firewall', DVD, '--format', 'k8s');
  assert.equal(k8s.code, 0);
  assert.match(k8s.out, /kind: NetworkPolicy/);
  const v = await cli('verify', DVD);
  assert.equal(v.code, 0, v.out + v.err);
  assert.match(v.out, /verified/);
  const json = await cli('firewall', DVD, '--json');
  assert.equal(JSON.parse(json.out).rules.length, 19);
});

test('verify exits 1 on a hand-edited ruleset that opens too much, and names the extra connection', async () => {
  const rs = JSON.parse((await cli('firewall', DVD, '--json')).out);
  rs.rules.push({
    id: 'oops',
    direction: 'ingress',
    target: 'db-0',
    peer: { kind: 'any' },
    protocol: 'tcp',
    ports: null,
    action: 'accept',
  });
  rs.rules.push({
    id: 'oops2',
    direction: 'egress',
    target: 'shipping-0',
    peer: { kind: 'service', service: 'db' },
    protocol: 'tcp',
    ports: null,
    action: 'accept',
  });
  const v = await cli('verify', DVD, '--rules', file('open.json', JSON.stringify(rs)));
  assert.equal(v.code, 1);
  assert.match(v.out, /EXTRA +shipping => db : TCP 1-65535|EXTRA +shipping => db : All Connections|EXTRA +shipping => db : TCP/);
  assert.match(v.out, /EXTRA +external => db/);
});

test('explain names the deciding rule and requirement', async () => {
  const ok = await cli('explain', DVD, '--from', 'user-update', '--to', 'db:pg');
  assert.equal(ok.code, 0);
  assert.match(ok.out, /ALLOWED/);
  assert.match(ok.out, /requirement #9 .*app\.yaml:\d+:\d+/);
  const no = await cli('explain', DVD, '--from', 'shipping', '--to', 'db:5432');
  assert.match(no.out, /DENIED/);
  assert.match(no.out, /denied by the default/);
});

test('policy eval: derived facts, and exit 1 when error() tuples are derived', async () => {
  const p = file('p.dl', 'reaches_db(S) :- requirement(_, S, "db", _).\nerror(S) :- reaches_db(S), S = "shipping".\n');
  const r = await cli('policy', 'eval', p, '--facts', DVD);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /reaches_db\("user-create"\)/);
  const bad = file('q.dl', 'error(S) :- requirement(_, S, "db", _), S != "user-create".\n');
  const e = await cli('policy', 'eval', bad, '--facts', DVD, '--query', 'error');
  assert.equal(e.code, 1);
  assert.match(e.out, /error\("user-update"\)/);
});

// Each bad input: exit 2, and the message names where (file:line:col) and what.
const BAD: Array<[string, () => string[], RegExp]> = [
  ['YAML syntax', () => ['validate', file('a1.yaml', 'tenant: x\napp: [unclosed\n')], /a1\.yaml:\d+:\d+.*error E_/],
  [
    'unknown key',
    () => ['validate', file('a2.yaml', base.replace('    exposure: public\n', '    exposure: public\n    exposre: public\n'))],
    /a2\.yaml:\d+:\d+.*exposre/,
  ],
  [
    'wrong type',
    () => [
      'validate',
      file(
        'a3.yaml',
        base
          .replace('replicas: 1', 'replicas: many')
          .replace(
            '    placement: [node1]\n    labels: {tier: front}\n',
            '    replicas: many\n    placement: [node1]\n    labels: {tier: front}\n',
          ),
      ),
    ],
    /a3\.yaml:\d+:\d+.*replicas/,
  ],
  [
    'unknown service in a requirement',
    () => ['validate', file('a4.yaml', base.replace('to: shipping:http', 'to: shiping:http'))],
    /a4\.yaml:\d+:\d+.*shiping/,
  ],
  ['unknown port', () => ['validate', file('a5.yaml', base.replace('to: shipping:http', 'to: shipping:grpc'))], /a5\.yaml:\d+:\d+.*grpc/],
  [
    'duplicate port',
    () => [
      'validate',
      file(
        'a6.yaml',
        base.replace(
          '      - {name: pg, protocol: tcp, port: 5432, app: postgres}\n',
          '      - {name: pg, protocol: tcp, port: 5432, app: postgres}\n      - {name: pg2, protocol: tcp, port: 5432, app: postgres}\n',
        ),
      ),
    ],
    /a6\.yaml:\d+:\d+.*5432/,
  ],
  [
    'port out of range',
    () => ['validate', file('a7.yaml', base.replace('port: 4222', 'port: 70000'))],
    /a7\.yaml:\d+:\d+.*70000|a7\.yaml:\d+:\d+.*65535/,
  ],
  [
    'unknown node',
    () => ['validate', file('a8.yaml', base.replace('placement: [node2]', 'placement: [node9]'))],
    /a8\.yaml:\d+:\d+.*node9/,
  ],
  [
    'duplicate key',
    () => ['validate', file('a9.yaml', base.replace('tenant: acme\n', 'tenant: acme\ntenant: other\n'))],
    /a9\.yaml:\d+:\d+.*tenant/,
  ],
  [
    'external to an internal service',
    () => [
      'validate',
      file('a10.yaml', base.replace('- from: external\n    to: dvd-return:http', '- from: external\n    to: shipping:http')),
    ],
    /a10\.yaml:\d+:\d+.*internal/,
  ],
  [
    'bad CIDR',
    () => ['validate', file('a11.yaml', base.replace('network: 10.77.0.0/16', 'network: 10.77.0.0/33'))],
    /a11\.yaml:\d+:\d+.*33/,
  ],
  [
    'L7 constraint that does not fit the port',
    () => [
      'validate',
      file(
        'a12.yaml',
        base.replace(
          'sql: {statements: [INSERT], tables: [users]',
          'http: {methods: [GET], paths: [/x]}, sql: {statements: [INSERT], tables: [users]',
        ),
      ),
    ],
    /a12\.yaml:\d+:\d+/,
  ],
  ['Datalog syntax', () => ['policy', 'eval', file('b1.dl', 'p(X) :- q(X\n')], /b1\.dl:\d+:\d+.*E_DL_SYNTAX/],
  ['unsafe rule', () => ['policy', 'eval', file('b2.dl', 'p(X, Y) :- q(X).\nq(1).\n')], /b2\.dl:1:\d+.*E_DL_UNSAFE.*Y/],
  [
    'unstratifiable program',
    () => ['policy', 'eval', file('b3.dl', 'p(X) :- q(X), not r(X).\nr(X) :- q(X), not p(X).\nq(1).\n')],
    /b3\.dl:\d+:\d+.*E_DL_UNSTRATIFIABLE/,
  ],
  ['arity mismatch', () => ['policy', 'eval', file('b4.dl', 'p(1).\np(1, 2).\n')], /b4\.dl:\d+:\d+.*E_DL_ARITY/],
  [
    'hand-edited ruleset with a bad field',
    () => [
      'verify',
      DVD,
      '--rules',
      file(
        'r1.json',
        '{"tenant":"acme","app":"dvd-rental","network":"10.77.0.0/16","isolated":{"ingress":[],"egress":[]},"rules":[{"id":"r1","direction":"inbound","target":"db-0","peer":{"kind":"any"},"protocol":"tcp","ports":null,"action":"accept"}],"base":{"arp":true,"established":true}}',
      ),
    ],
    /r1\.json:1:\d+.*direction/,
  ],
  ['bad Kubernetes manifests', () => ['connlist', 'test/fixtures/k8s/bad'], /test\/fixtures\/k8s\/bad\/[^:]+:\d+:\d+/],
  ['missing file', () => ['validate', join(dir, 'nope.yaml')], /nope\.yaml.*E_NO_FILE/],
  ['bad option value', () => ['firewall', DVD, '--format', 'iptables'], /--format.*iptables.*json, nft, k8s/],
];

for (const [what, args, pattern] of BAD) {
  test(`bad input exits 2 with a positioned error: ${what}`, async () => {
    const r = await cli(...args());
    assert.equal(r.code, 2, `${what}: exit ${r.code}\n${r.out}${r.err}`);
    assert.match(r.err, pattern);
  });
}

test('simulate traces a packet through the firewall and taps, and names where it is dropped', async () => {
  const ok = await cli(
    'simulate',
    DVD,
    '--policy',
    'examples/dvd-rental/policies/database.dl',
    '--from',
    'user-update-0',
    '--packet',
    'tcp,nw_src=10.77.0.5,nw_dst=10.77.1.4,tp_src=40000,tp_dst=5432',
  );
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /delivered to db-0/);
  assert.match(ok.out, /copies: mon-sql/);
  const no = await cli('simulate', DVD, '--from', 'shipping-0', '--packet', 'tcp,nw_src=10.77.1.3,nw_dst=10.77.1.4,tp_dst=5432');
  assert.match(no.out, /dropped at node2 eg_shipping_0/);
  const bad = await cli('simulate', DVD, '--from', 'nobody-0', '--packet', 'tcp');
  assert.equal(bad.code, 2);
  const badPacket = await cli('simulate', DVD, '--packet', 'tcp,tp_dts=1');
  assert.equal(badPacket.code, 2);
  assert.match(badPacket.err, /tp_dts/);
});

test('taps and explain-tap: contracts with provenance, as json, nft and ovs', async () => {
  const P = 'examples/dvd-rental/policies';
  const t = await cli('taps', DVD, '--policy', `${P}/database.dl`, '--json');
  assert.equal(t.code, 0, t.err);
  assert.equal(JSON.parse(t.out).contracts.length, 2);
  assert.match((await cli('taps', DVD, '--policy', `${P}/database.dl`, '--format', 'nft')).out, /table netdev flowtap_taps/);
  assert.match((await cli('taps', DVD, '--policy', `${P}/honeypot.dl`, '--format', 'ovs')).out, /ovs-ofctl .*add-flow/);
  const e = await cli('explain-tap', DVD, '--policy', `${P}/database.dl`, '--packet', 'tcp,nw_dst=10.77.1.4,tp_dst=5432');
  assert.match(e.out, /1 of 2 contracts match \(dry run/);
  assert.match(e.out, /database\.dl:3/);
  assert.match(e.out, /rendered: node2 tap_in_\w+: .*dup to "fm\d+" comment "database:1"/);
  const none = await cli('taps', DVD);
  assert.equal(none.code, 2);
});

// Commander checks option values while it parses: exit 2, naming the option and what it accepts.
const BAD_OPTIONS: Array<[string[], RegExp]> = [
  [['firewall', DVD, '--mode', 'strict'], /--mode.*strict.*enforce, audit/],
  [['connlist', 'test/fixtures/k8s/allow-all', '--format', 'yaml'], /--format.*yaml.*txt, json/],
  [['taps', DVD, '--policy', 'p.dl', '--format', 'dot'], /--format.*dot.*text, json, nft, ovs/],
  [['taps', DVD, '--policy', 'p.dl', '--strategy', 'per-pod'], /--strategy.*per-pod.*per-app, per-node/],
  [['explain-tap', DVD, '--policy', 'p.dl', '--packet', 'tcp', '--strategy', 'x'], /--strategy.*per-app, per-node/],
  [['simulate', DVD, '--packet', 'tcp', '--strategy', 'x'], /--strategy.*per-app, per-node/],
  [['simulate', DVD, '--packet', 'tcp', '--inline-verdict', 'drop'], /--inline-verdict.*drop.*pass, block, monitor-down/],
  [['up', DVD, '--mode', 'x'], /--mode.*enforce, audit/],
  [['up', DVD, '--strategy', 'x'], /--strategy.*per-app, per-node/],
  [['monitor', '--pcap', 'x.pcap', '--format', 'xml'], /--format.*xml.*tsv, json/],
  [['monitor', '--iface', 'lo', '--duration', 'soon'], /--duration.*soon.*positive number of seconds/],
  [['monitor', '--iface', 'lo', '--duration', '-3'], /--duration.*positive number of seconds/],
  [['monitor', '--pcap', 'x.pcap', '--iface', 'lo'], /--pcap.*cannot be used with.*--iface/],
  [['monitor', '--iface', 'lo', '--inline=queue', '--workers', '0'], /--workers.*whole number from 1 to 32/],
  [['monitor', '--iface', 'lo', '--workers', '2'], /--workers needs --inline=queue/],
  [['explain', DVD, '--from', 'user-update', '--to', 'db'], /--to.*SERVICE:PORT/],
  [['taps', DVD], /required option '--policy/],
  [['verify', DVD, '--live', '--rules', 'r.json'], /--live.*cannot be used with.*--rules/],
  [['validate'], /missing required argument 'app'/],
  [['frobnicate'], /unknown command 'frobnicate'/],
];

for (const [args, pattern] of BAD_OPTIONS) {
  test(`bad option exits 2 and says what is allowed: ${args.join(' ')}`, async () => {
    const r = await cli(...args);
    assert.equal(r.code, 2, `exit ${r.code}\n${r.out}${r.err}`);
    assert.match(r.err, pattern);
  });
}

/** A value inside parsed JSON, or undefined when the path is not there. */
function at(v: unknown, ...path: (string | number)[]): unknown {
  return path.reduce<unknown>((x, k) => (x !== null && typeof x === 'object' ? (x as Record<string | number, unknown>)[k] : undefined), v);
}

test('--json: usage errors and bad input come as {ok: false, errors} on stdout', async () => {
  const bad = await cli('firewall', DVD, '--format', 'iptables', '--json');
  assert.equal(bad.code, 2);
  assert.equal(bad.err, '');
  const doc = JSON.parse(bad.out) as { ok: boolean; errors: { code: string; message: string }[] };
  assert.equal(doc.ok, false);
  assert.equal(doc.errors[0].code, 'E_CLI_OPTION');
  assert.match(doc.errors[0].message, /--format.*iptables.*json, nft, k8s/);
  const usage = JSON.parse((await cli('taps', DVD, '--json')).out) as { errors: { code: string; message: string }[] };
  assert.equal(usage.errors[0].code, 'E_CLI_USAGE');
  assert.match(usage.errors[0].message, /--policy/);
  const missing = await cli('validate', join(dir, 'nope.yaml'), '--json');
  assert.equal(missing.code, 2);
  assert.equal((JSON.parse(missing.out) as { errors: { code: string }[] }).errors[0].code, 'E_NO_FILE');
});

test('--json: every command that needs no running cloud prints JSON', async () => {
  const P = 'examples/dvd-rental/policies';
  const FIX = 'test/fixtures/pcap';
  const runs: Array<[string[], (v: unknown) => void]> = [
    [['validate', DVD, '--json'], (v) => assert.equal(at(v, 'app', 'name'), 'dvd-rental')],
    [['firewall', DVD, '--format', 'nft', '--json'], (v) => assert.equal(at(v, 'rules', 'length'), 19)],
    [['verify', DVD, '--json'], (v) => assert.equal(at(v, 'ok'), true)],
    [['connlist', 'test/fixtures/k8s/default-deny', '--json'], (v) => assert.ok(Array.isArray(v))],
    [['explain', DVD, '--from', 'user-update', '--to', 'db:pg', '--json'], (v) => assert.equal(at(v, 0, 'allowed'), true)],
    [
      ['policy', 'eval', file('j.dl', 'reaches_db(S) :- requirement(_, S, "db", _).\n'), '--facts', DVD, '--json'],
      (v) => assert.ok((at(v, 'reaches_db') as string[][]).some((t) => t[0] === 'user-create')),
    ],
    [
      ['simulate', DVD, '--from', 'shipping-0', '--packet', 'tcp,nw_src=10.77.1.3,nw_dst=10.77.1.4,tp_dst=5432', '--json'],
      (v) => assert.match(JSON.stringify(v), /eg_shipping_0/),
    ],
    [['taps', DVD, '--policy', `${P}/database.dl`, '--format', 'ovs', '--json'], (v) => assert.equal(at(v, 'contracts', 'length'), 2)],
    [
      ['explain-tap', DVD, '--policy', `${P}/database.dl`, '--packet', 'tcp,nw_dst=10.77.1.4,tp_dst=5432', '--json'],
      (v) => assert.equal(at(v, 'matches', 'length'), 1),
    ],
  ];
  for (const [args, check] of runs) {
    const r = await cli(...args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
    check(JSON.parse(r.out));
  }
  // The monitor streams notices as JSON lines on stdout and closes with its report as JSON on stderr.
  const m = await cli('monitor', '--pcap', `${FIX}/syn-flood.pcap`, '--app', DVD, '--addressing', `${FIX}/addressing.json`, '--json');
  assert.equal(m.code, 0, m.err);
  const notices = m.out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { note: string });
  assert.ok(notices.length > 0 && notices.every((n) => typeof n.note === 'string'), m.out);
  const report = JSON.parse(m.err) as { exitCode: number; summary: { packets: number } };
  assert.equal(report.exitCode, 0);
  assert.ok(report.summary.packets > 0);
});

test('start-up loads no command module and no heavy folder: main.js imports only commander and the option definitions', () => {
  const cliDir = fileURLToPath(new URL('../src/cli/', import.meta.url));
  const seen = new Set<string>();
  const bare = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    // Static imports and re-exports only; `import('...')` is what loads a command on demand.
    for (const m of readFileSync(path, 'utf8').matchAll(/^\s*(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]/gm)) {
      const spec = m[1];
      if (spec.startsWith('.')) visit(resolve(dirname(path), spec));
      else bare.add(spec);
    }
  };
  visit(join(cliDir, 'main.js'));
  const loaded = [...seen].map((p) => relative(join(cliDir, '..'), p)).sort();
  assert.deepEqual(
    loaded.filter((p) =>
      /^cli\/commands\/(?!index)|^(model|datalog|firewall|flowtap|dataplane|monitor|orchestrator|controller|broker)\//.test(p),
    ),
    [],
    loaded.join(', '),
  );
  assert.deepEqual(
    [...bare].filter((b) => b !== 'commander' && !b.startsWith('node:')),
    [],
  );
  assert.ok(loaded.includes('cli/options.js'), loaded.join(', '));
});

test('--json: the deployment commands and every management operation (local cloud on a recording system, no root)', async () => {
  // The probe agent answers for each target it was given: all closed.
  const system = new RecordingSystem((argv) =>
    argv[1]?.endsWith('probe-agent.js')
      ? { stdout: JSON.stringify((JSON.parse(argv[2]) as unknown[]).map(() => ({ open: false }))) }
      : undefined,
  );
  const cloud: CloudEnv = { system, stateDir: mkdtempSync(join(tmpdir(), 'flowtap-cli-state-')) };
  const json = async (...argv: string[]): Promise<unknown> => {
    const r = await cliIn(cloud, ...argv, '--json');
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.out}${r.err}`);
    return JSON.parse(r.out);
  };
  const up = await json('up', DVD, '--strategy', 'per-app', '--policy', 'examples/dvd-rental/policies/database.dl');
  assert.equal(at(up, 'spec', 'strategy'), 'per-app');
  assert.equal(at(up, 'addressing', 'instances', 'shipping-0', 'node'), 'node2');

  const ops: Array<[string[], (v: unknown) => void]> = [
    [['isolate', 'dvd-rental', 'shipping-0'], (v) => assert.equal(at(v, 'context', 'status', 'shipping-0'), 'isolated')],
    [['release', 'dvd-rental', 'shipping-0'], (v) => assert.notEqual(at(v, 'context', 'status', 'shipping-0'), 'isolated')],
    [['redeploy', 'dvd-rental', 'dvd-return-0'], (v) => assert.equal(at(v, 'instance'), 'dvd-return-0')],
    [
      ['move', 'dvd-rental', 'shipping-0', 'node1'],
      (v) => assert.equal(at(v, 'context', 'addressing', 'instances', 'shipping-0', 'node'), 'node1'),
    ],
    [['terminate', 'dvd-rental', 'user-update-0'], (v) => assert.equal(at(v, 'context', 'status', 'user-update-0'), 'terminated')],
  ];
  for (const [argv, check] of ops) {
    const v = await json(...argv);
    assert.equal(at(v, 'ok'), true);
    assert.equal(at(v, 'operation'), argv[0]);
    assert.ok(Array.isArray(at(v, 'events')), JSON.stringify(v));
    check(v);
  }

  const status = await json('status', 'dvd-rental');
  assert.equal(at(status, 'spec', 'strategy'), 'per-app', 'the operations kept the spec of `up`');
  const monitors = at(status, 'monitors') as { monitor: string; logDir?: string }[];
  const logged = monitors.find((m) => m.logDir);
  assert.ok(logged?.logDir, JSON.stringify(monitors));
  mkdirSync(logged.logDir, { recursive: true });
  appendFileSync(
    join(logged.logDir, 'notice.log'),
    `${JSON.stringify({ ts: 1, note: 'SQL::Unauthorized', uid: 'C1', msg: 'test notice' })}\n`,
  );
  const notices = await cliIn(cloud, 'notices', 'dvd-rental', '--json');
  assert.equal(notices.code, 0, notices.err);
  const lines = notices.out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { monitor: string; note: string });
  assert.deepEqual(lines, [{ monitor: logged.monitor, ts: 1, note: 'SQL::Unauthorized', uid: 'C1', msg: 'test notice' }]);

  // Every probe answered closed: the required connections are differences, exit 1, still JSON.
  const live = await cliIn(cloud, 'verify', 'dvd-rental', '--live', '--json');
  assert.equal(live.code, 1, live.err);
  const report = JSON.parse(live.out) as { ok: boolean; probes: unknown[]; differences: unknown[] };
  assert.equal(report.ok, false);
  assert.ok(report.probes.length > 0 && report.differences.length > 0);

  const down = await json('down', 'dvd-rental');
  assert.ok((at(down, 'namespaces') as string[]).includes('ft-dvd-rental-n-node1'), JSON.stringify(down));
});
