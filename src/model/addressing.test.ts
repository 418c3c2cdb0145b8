import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unwrap, type Result } from '../diagnostics/index.js';
import { parseIpv4 } from '../net/index.js';
import { monitorSubnet, nodeSubnet, planAddresses as plan } from './addressing.js';
import { loadApp } from './load-app.js';
import { parseApp } from './parse-app.js';
import { findUp } from './testing.js';
import type { App } from './types.js';

function load(rel: string): App {
  const r = loadApp(findUp(rel));
  assert.ok(r.ok);
  return r.value;
}

function parse(text: string): App {
  const r = parseApp(text, 'a.yaml');
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  return r.value;
}

/** Three nodes, uneven replicas, placement and monitors: enough to catch collisions. */
const BIG = [
  'tenant: t',
  'app: big',
  'network: 10.40.0.0/20',
  'nodes: [{name: a}, {name: b}, {name: c}]',
  'services:',
  '  s1: {replicas: 100}',
  '  s2: {replicas: 7, placement: [c, a]}',
  '  s3: {replicas: 200, placement: [b, c]}',
  'monitors: [{name: m1, node: a}, {name: m2, node: b}, {name: m3, node: c}]',
  '',
].join('\n');

const planAddresses = (app: App) => unwrap(plan(app));
const codeOf = (r: Result<unknown>): string | undefined => (r.ok ? undefined : r.errors[0].code);

const inBlock = (ip: string, base: string): boolean => ip.startsWith(base);

test('every instance and monitor gets a unique address, port name and MAC', () => {
  for (const app of [load('examples/dvd-rental/app.yaml'), load('examples/web-sql/app.yaml'), parse(BIG)]) {
    const a = planAddresses(app);
    const all = [...Object.values(a.instances), ...Object.values(a.monitors)];
    assert.equal(Object.keys(a.instances).length, app.instances.length);
    assert.equal(Object.keys(a.monitors).length, app.monitors.length);
    for (const key of ['ip', 'port', 'mac'] as const) {
      assert.equal(new Set(all.map((x) => x[key])).size, all.length, `${app.name}: ${key}s are unique`);
    }
    for (const x of all) {
      assert.ok(x.port.length <= 15 && /^f[tm][0-9a-z]+$/.test(x.port), x.port);
      assert.match(x.mac, /^02(:[0-9a-f]{2}){5}$/);
      assert.notEqual(parseIpv4(x.ip), undefined);
    }
  }
});

test("instances live in their node's /24 from .2; the node holds .1; monitors the top /24", () => {
  const app = parse(BIG);
  const a = planAddresses(app);
  assert.deepEqual(
    { ...a.nodes },
    {
      a: { ip: '10.250.0.1', index: 0, subnet: '10.40.0.0/24', gateway: '10.40.0.1' },
      b: { ip: '10.250.0.2', index: 1, subnet: '10.40.1.0/24', gateway: '10.40.1.1' },
      c: { ip: '10.250.0.3', index: 2, subnet: '10.40.2.0/24', gateway: '10.40.2.1' },
    },
  );
  for (const inst of app.instances) {
    const at = a.instances[inst.name];
    assert.equal(at.node, inst.node);
    const sub = a.nodes[inst.node].subnet.replace(/0\/24$/, '');
    assert.ok(inBlock(at.ip, sub), `${inst.name} ${at.ip} in ${sub}`);
    assert.notEqual(at.ip, a.nodes[inst.node].gateway);
  }
  // The first instance on each node takes .2, in app.instances order.
  const firstOn = (node: string) => app.instances.find((i) => i.node === node)!.name;
  assert.equal(a.instances[firstOn('a')].ip, '10.40.0.2');
  assert.equal(a.instances[firstOn('b')].ip, '10.40.1.2');
  assert.deepEqual(
    Object.values(a.monitors).map((m) => [m.monitor, m.node, m.ip]),
    [
      ['m1', 'a', '10.40.15.2'],
      ['m2', 'b', '10.40.15.3'],
      ['m3', 'c', '10.40.15.4'],
    ],
  );
  assert.deepEqual(unwrap(monitorSubnet(app)), { cidr: '10.40.15.0/24', gateway: '10.40.15.1' });
  assert.deepEqual(unwrap(nodeSubnet(app, 'b')), { cidr: '10.40.1.0/24', gateway: '10.40.1.1' });
});

test('port names are ft/fm + base 36 of the index; MACs carry the index', () => {
  const app = parse(BIG);
  const a = planAddresses(app);
  app.instances.forEach((inst, k) => {
    assert.equal(a.instances[inst.name].port, 'ft' + k.toString(36));
    assert.equal(parseInt(a.instances[inst.name].mac.split(':').slice(3).join(''), 16), k);
  });
  assert.equal(a.monitors.m3.port, 'fm2');
  assert.ok(a.instances[app.instances[300].name].port === 'ft8c');
});

test('planning is deterministic and stable when services are added at the end', () => {
  const once = planAddresses(parse(BIG));
  assert.deepEqual(planAddresses(parse(BIG)), once);
  const grown = planAddresses(parse(BIG.replace('monitors:', '  s4: {replicas: 3}\nmonitors:')));
  for (const [name, at] of Object.entries(once.instances)) assert.deepEqual(grown.instances[name], at);
  assert.deepEqual(grown.monitors, once.monitors);
});

test('an app the checks would reject cannot be planned: the reason comes back as a value', () => {
  const app = load('examples/web-sql/app.yaml');
  assert.equal(codeOf(plan({ ...app, network: '10.0.0.0/33' })), 'E_CIDR');
  assert.equal(codeOf(plan({ ...app, network: '010.0.0.0/16' })), 'E_CIDR');
  assert.equal(codeOf(plan({ ...app, network: '10.0.0.0/24' })), 'E_ADDRESS_SPACE');
  assert.equal(codeOf(plan({ ...app, instances: [{ name: 'x-0', service: 'x', ordinal: 0, node: 'ghost' }] })), 'E_UNKNOWN_NODE');
  assert.equal(codeOf(plan({ ...app, monitors: [{ ...app.monitors[0], node: 'ghost' }] })), 'E_UNKNOWN_NODE');
  assert.equal(codeOf(nodeSubnet(app, 'ghost')), 'E_UNKNOWN_NODE');
  assert.equal(codeOf(monitorSubnet({ ...app, network: 'ten' })), 'E_CIDR');
});
