/**
 * The agent's spec file: a valid one reads back as it was written and becomes the agent's
 * options; a damaged one is refused whole, every problem naming the file and the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingSystem } from '../system/index.js';
import { agentOptions, parseAgentSpec, type AgentSpec } from './spec.js';
import { MemoryBus, MemoryStore } from './testing.js';

const SPEC: AgentSpec = {
  version: 1,
  tenant: 'acme',
  app: 'dvd-rental',
  node: 'node1',
  nodeNs: 'ft-dvd-rental-n-node1',
  instances: [
    { name: 'web-0', service: 'web', ns: 'ft-dvd-rental-i-web-0', logFile: '/s/web-0/process.log', ip: '10.77.0.2', iface: 'ft0' },
  ],
  monitors: [{ name: 'mon-http', logDir: '/s/mon-http' }],
  broker: { store: 'postgres://flowtap@127.0.0.1:55432/flowtap', bus: 'nats://127.0.0.1:54222', relay: { store: '/s/broker/store.sock' } },
  level: 2,
  periodMs: 1000,
  controlSince: 1_700_000_000_000,
  maxBufferBytes: 65536,
  ready: '/s/agents/node1.ready',
};

const errorsOf = (value: unknown): string[] => {
  const r = parseAgentSpec(typeof value === 'string' ? value : JSON.stringify(value), '/s/agents/node1.json');
  assert.ok(!r.ok, 'refused');
  return r.errors.map((e) => `${e.code} ${e.loc?.file}:${e.loc?.field} ${e.message}`);
};

test('a valid spec reads back whole and becomes the options runAgent takes', () => {
  const r = parseAgentSpec(JSON.stringify(SPEC), 'node1.json');
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.value, SPEC);
  const broker = { store: new MemoryStore(), bus: new MemoryBus() };
  const system = new RecordingSystem();
  const o = agentOptions(r.value, broker, system);
  assert.deepEqual(
    { ...o, broker: undefined, system: undefined },
    {
      tenant: 'acme',
      app: 'dvd-rental',
      node: 'node1',
      nodeNs: 'ft-dvd-rental-n-node1',
      instances: SPEC.instances,
      monitors: SPEC.monitors,
      broker: undefined,
      system: undefined,
      level: 2,
      periodMs: 1000,
      controlSince: 1_700_000_000_000,
      shipping: { maxBufferBytes: 65536 },
    },
  );
  assert.equal(o.broker, broker);
  assert.equal(o.system, system);
  // The node's bridge, when the spec names it, is the one an Open vSwitch push may change.
  const withBridge = parseAgentSpec(JSON.stringify({ ...SPEC, ovsBridge: 'ftbx1y2z0' }), '/s/agents/node1.json');
  assert.ok(withBridge.ok);
  assert.equal(agentOptions(withBridge.value, broker, system).ovsBridge, 'ftbx1y2z0');
});

test('a damaged spec names the file and every field at fault', () => {
  assert.match(errorsOf('{"version": 1,')[0], /^E_AGENT_OPTION \/s\/agents\/node1\.json:undefined the agent spec is not JSON/);
  const bad = errorsOf({ ...SPEC, level: 7, periodMs: 10, extra: true, instances: [{ name: 'web-0' }] });
  for (const field of ['level', 'periodMs', '(top)', 'instances[0].service', 'instances[0].ns'])
    assert.ok(
      bad.some((e) => e.includes(`node1.json:${field} `)),
      `${field} in ${bad.join('\n')}`,
    );
  assert.match(errorsOf({ ...SPEC, version: 2 }).join('\n'), /:version invalid agent spec/);
  // The bridge goes to ovs-ofctl: only a name flowtap could have given.
  assert.match(errorsOf({ ...SPEC, ovsBridge: 'br0; rm' }).join('\n'), /:ovsBridge invalid agent spec: expected a bridge name/);
});

test('addresses and namespaces are checked as the agent would use them', () => {
  const url = errorsOf({ ...SPEC, broker: { store: 'mysql://x', bus: 'nats://' } });
  assert.ok(
    url.some((e) => /^E_BROKER_URL .*:broker\.store store "mysql:\/\/x": unknown kind of store/.test(e)),
    url.join('\n'),
  );
  assert.ok(
    url.some((e) => /^E_BROKER_URL .*:broker\.bus bus "nats:\/\/"/.test(e)),
    url.join('\n'),
  );
  const inNode = errorsOf({ ...SPEC, instances: [{ ...SPEC.instances[0], ns: SPEC.nodeNs }] });
  assert.ok(
    inNode.some((e) => /instance web-0 shares the node's namespace/.test(e)),
    inNode.join('\n'),
  );
  const twice = errorsOf({ ...SPEC, instances: [SPEC.instances[0], SPEC.instances[0]] });
  assert.ok(twice.some((e) => /listed twice/.test(e)));
});
