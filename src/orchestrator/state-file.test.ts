import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseState, StateStore, STATE_VERSION, type CloudState } from './state-file.js';

const good: CloudState = {
  version: STATE_VERSION,
  app: 'web-sql',
  tenant: 'demo',
  createdAt: '2024-01-01T00:00:00.000Z',
  phase: 'running',
  spec: { descriptor: '/x/app.yaml', policies: ['/x/p.dl'], mode: 'audit', strategy: 'per-app', downMonitors: ['mon1'] },
  addressing: {
    instances: { 'web-0': { instance: 'web-0', node: 'node1', port: 'ft0', ip: '10.77.0.2', mac: '02:66:74:00:00:00' } },
    monitors: { mon1: { monitor: 'mon1', node: 'node1', port: 'fm0', ip: '10.77.255.2', mac: '02:66:6d:00:00:00' } },
    nodes: { node1: { ip: '10.250.0.1', index: 0, subnet: '10.77.0.0/24', gateway: '10.77.0.1' } },
  },
  namespaces: ['ft-web-sql-n-node1'],
  processes: [{ owner: 'web-0', ns: 'ft-web-sql-i-web-0', pid: 12, argv: ['node', 'x.js'], log: '/x/log' }],
  isolated: [],
  terminated: [],
  dataplane: {
    node1: {
      config: {
        node: 'node1',
        tables: [
          {
            family: 'inet',
            name: 'flowtap',
            sets: [{ name: 'svc_web', spec: ['type ipv4_addr', 'flags interval'], elements: ['10.77.0.2'] }],
            chains: [
              {
                name: 'forward',
                base: 'type filter hook forward priority filter; policy drop;',
                rules: [{ text: 'ip daddr @svc_web counter accept comment "r1 req0"', comment: 'r1 req0', counted: true, notes: ['# r1'] }],
              },
              { name: 'in_web_0', rules: [], trailing: ['# nothing else'] },
            ],
          },
        ],
      },
      handles: { 'inet flowtap forward': [4], 'inet flowtap in_web_0': [] },
      stamp: 'ft_applied_0123456789ab',
    },
  },
};

test('the whole spec survives a save and a load, in the folder it was told', () => {
  const store = new StateStore(mkdtempSync(join(tmpdir(), 'flowtap-state-')));
  store.save(good);
  assert.equal(store.file('web-sql'), join(store.dir, 'web-sql.json'));
  const back = store.load('web-sql');
  assert.ok(back.ok);
  assert.deepEqual(back.value, good);
  // A record written before there was a data-plane record still loads: the next apply is a full one.
  const { dataplane: _, ...older } = good;
  store.save(older);
  assert.deepEqual(store.load('web-sql'), { ok: true, value: older });
  assert.deepEqual(store.load('other'), { ok: true, value: null });
  store.remove('web-sql');
  assert.deepEqual(store.load('web-sql'), { ok: true, value: null });
});

test('a damaged state file is an error naming the file and the field', () => {
  const file = '/var/lib/flowtap/web-sql.json';
  const bad = (change: (s: any) => void) => {
    const s = structuredClone(good) as any;
    change(s);
    const r = parseState(JSON.stringify(s), file);
    assert.equal(r.ok, false);
    return r.ok ? [] : r.errors;
  };
  const strategy = bad((s) => (s.spec.strategy = 'per-rack'));
  assert.equal(strategy[0].code, 'E_STATE_FILE');
  assert.deepEqual(strategy[0].loc, { file, field: 'spec.strategy' });
  assert.deepEqual(bad((s) => (s.processes[0].pid = 'twelve'))[0].loc, { file, field: 'processes[0].pid' });
  assert.deepEqual(bad((s) => delete s.spec.downMonitors)[0].loc, { file, field: 'spec.downMonitors' });
  assert.deepEqual(bad((s) => (s.addressing.instances['web-0'].ip = 7))[0].loc, { file, field: 'addressing.instances.web-0.ip' });
  // A file of the previous format (no version, no spec) says which version it is.
  const old = bad((s) => delete s.version);
  assert.equal(old.length, 1);
  assert.match(old[0].message, /version null, this flowtap reads version 2/);
  // What goes back into nft scripts cannot carry a second statement; handles are numbers (-1: unknown).
  const tables = (s: any) => s.dataplane.node1.config.tables;
  assert.deepEqual(bad((s) => (s.dataplane.node1.stamp = 'x; flush ruleset'))[0].loc, { file, field: 'dataplane.node1.stamp' });
  assert.deepEqual(
    bad((s) => (tables(s)[0].sets[0].elements = ['10.77.0.2 }; flush ruleset; add element inet flowtap svc_web { 1.2.3.4']))[0].loc,
    {
      file,
      field: 'dataplane.node1.config.tables[0].sets[0].elements[0]',
    },
  );
  assert.deepEqual(bad((s) => (tables(s)[0].chains[1].name = 'in_web_0\nflush ruleset'))[0].loc, {
    file,
    field: 'dataplane.node1.config.tables[0].chains[1].name',
  });
  assert.deepEqual(bad((s) => (s.dataplane.node1.handles['inet flowtap forward'] = [-2]))[0].loc, {
    file,
    field: 'dataplane.node1.handles.inet flowtap forward[0]',
  });
  assert.deepEqual(bad((s) => (tables(s)[0].family = 'arp'))[0].loc, { file, field: 'dataplane.node1.config.tables[0].family' });
  const notJson = parseState('{"app": ', file);
  assert.ok(!notJson.ok && notJson.errors[0].loc?.file === file && /not JSON/.test(notJson.errors[0].message));
});

test('the store loads what is on disk, damaged or not', () => {
  const store = new StateStore(mkdtempSync(join(tmpdir(), 'flowtap-state-')));
  writeFileSync(store.file('web-sql'), JSON.stringify({ ...good, phase: 'dancing' }));
  const r = store.load('web-sql');
  assert.ok(!r.ok);
  assert.deepEqual(r.errors[0].loc, { file: store.file('web-sql'), field: 'phase' });
});

test('restrictions are kept, a record written before there were any still loads, and a bad one is refused at its field', () => {
  const store = new StateStore(mkdtempSync(join(tmpdir(), 'flowtap-state-')));
  const restricted: CloudState = {
    ...good,
    restrictions: [
      { id: 'flood-1', source: '203.0.113.0/24', port: 80, protocol: 'tcp', rate: { perSecond: 10, burst: 5 } },
      { id: 'scan:2001:db8::7', source: '2001:db8::7' },
    ],
  };
  store.save(restricted);
  assert.deepEqual(store.load('web-sql'), { ok: true, value: restricted });
  // The record of an older flowtap has no `restrictions` at all (not an empty list).
  store.save(good);
  const older = store.load('web-sql');
  assert.ok(older.ok && older.value && !('restrictions' in older.value));

  const file = '/var/lib/flowtap/web-sql.json';
  const errors = (change: (s: any) => void) => {
    const s = structuredClone(restricted) as any;
    change(s);
    const r = parseState(JSON.stringify(s), file);
    assert.equal(r.ok, false, JSON.stringify(s.restrictions));
    return r.ok ? [] : r.errors.map((e) => `${e.code} ${e.loc?.field}`);
  };
  // Source and id go into nft scripts: anything but an address or a token is refused, whoever wrote the file.
  assert.deepEqual(
    errors((s) => (s.restrictions[0].source = '203.0.113.0/24 accept; flush ruleset')),
    ['E_STATE_FILE restrictions[0].source'],
  );
  assert.deepEqual(
    errors((s) => (s.restrictions[1].id = 'x" accept comment "y')),
    ['E_STATE_FILE restrictions[1].id'],
  );
  assert.deepEqual(
    errors((s) => (s.restrictions[0].port = 70000)),
    ['E_STATE_FILE restrictions[0].port'],
  );
  assert.deepEqual(
    errors((s) => (s.restrictions[0].rate.burst = 0)),
    ['E_STATE_FILE restrictions[0].rate.burst'],
  );
  assert.deepEqual(
    errors((s) => (s.restrictions[0].verdict = 'accept')),
    ['E_STATE_FILE restrictions[0]'],
  );
  assert.deepEqual(
    errors((s) => (s.restrictions[1].id = 'flood-1')),
    ['E_STATE_FILE restrictions'],
  );
});
