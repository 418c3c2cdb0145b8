import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingSystem, type RecordedCall } from '../../system/index.js';
import { echoedRules } from './apply.js';
import { NftBackend } from './backend.js';
import type { NftNodeConfig } from './node.js';
import { chainOf, type NftTable } from './table.js';

const BASE = 'type filter hook forward priority filter; policy drop;';
const config = (forward: string[], extra: string[] = []): NftNodeConfig => ({
  node: 'n1',
  tables: [
    {
      family: 'inet',
      name: 'flowtap',
      sets: [],
      chains: [chainOf('forward', BASE, forward), ...(extra.length ? [chainOf('x', undefined, extra)] : [])],
    } satisfies NftTable,
  ],
});

/** nft's echo (`-e -a`) for the rules a script adds, numbering handles from `first`. */
function echo(script: string, first: number): string {
  let h = first;
  const out: string[] = [];
  let chain = '';
  for (const line of script.split('\n')) {
    const c = /^ {2}chain (\S+) \{/.exec(line);
    if (c) chain = c[1];
    else if (/^ {4}(?!type |#)\S/.test(line)) out.push(`add rule inet flowtap ${chain} ${line.trim()} # handle ${h++}`);
    const r = /^(add|insert) rule inet flowtap (\S+) (?:position \d+ )?(.*)$/.exec(line);
    if (r) out.push(`${r[1]} rule inet flowtap ${r[2]} ${r[3]} # handle ${h++}`);
  }
  return out.join('\n') + '\n';
}

let echoNext = 500;
/** A responder that echoes the handles of what an `nft -e -a -f` script adds. */
function recordingEcho(script: string): { stdout: string } {
  const out = echo(script, echoNext);
  echoNext += 100;
  return { stdout: out };
}

function recording(refuse: (script: string) => boolean = () => false) {
  let next = 10;
  return new RecordingSystem((argv, opts) => {
    if (argv[0] !== 'nft' || !argv.includes('-f')) return undefined;
    if (refuse(opts.input ?? '')) return { code: 1, stderr: '/dev/stdin:1:1-5: Error: Could not process rule: No such file or directory' };
    if (!argv.includes('-e')) return undefined;
    const out = echo(opts.input ?? '', next);
    next += 100;
    return { stdout: out };
  });
}

const inputs = (sys: RecordingSystem) => sys.calls.filter((c): c is Extract<RecordedCall, { kind: 'run' }> => c.kind === 'run');

test('the first apply replaces the tables whole in the node namespace, the next changes only what differs', async () => {
  const sys = recording();
  const b = new NftBackend({ system: sys, nsOf: (n) => `ns-${n}` });
  const first = await b.apply('n1', config(['counter accept comment "a"', 'counter drop comment "b"'], ['counter return comment "c"']));
  assert.deepEqual(first.ok && first.value, { kind: 'full', rulesAdded: 3, rulesRemoved: 0, reason: 'nothing applied on this node yet' });
  const [full] = inputs(sys);
  assert.deepEqual([full.argv, full.ns], [['nft', '-e', '-a', '-f', '-'], 'ns-n1']);
  const stamp = b.applied.get('n1')!.stamp;
  assert.match(stamp, /^ft_applied_[0-9a-f]{12}$/);
  assert.equal(
    full.input,
    [
      'table inet flowtap',
      'delete table inet flowtap',
      'table inet flowtap {',
      '  chain forward {',
      `    ${BASE}`,
      '    counter accept comment "a"',
      '    counter drop comment "b"',
      '  }',
      '  chain x {',
      '    counter return comment "c"',
      '  }',
      '}',
      `add chain inet flowtap ${stamp}`,
      '',
    ].join('\n'),
  );
  assert.deepEqual(b.applied.get('n1')!.handles, { 'inet flowtap forward': [10, 11], 'inet flowtap x': [12] });

  // New first and last rules, "b" gone, chain x gone, chain y new.
  const second = {
    node: 'n1',
    tables: [
      {
        ...config([]).tables[0],
        chains: [
          chainOf('forward', BASE, ['counter comment "z"', 'counter accept comment "a"', 'counter comment "e"']),
          chainOf('y', undefined, ['counter comment "y"']),
        ],
      },
    ],
  };
  const r = await b.apply('n1', second);
  // What nft committed with the transaction, as the configuration has it: no echo, so no handle yet.
  const added = (chain: string, comment: string) => ({ family: 'inet', table: 'flowtap', chain, comment, packets: 0, bytes: 0 });
  assert.deepEqual(r.ok && r.value, {
    kind: 'incremental',
    rulesAdded: 3,
    rulesRemoved: 2,
    installed: [added('forward', 'z'), added('forward', 'e'), added('y', 'y')],
  });
  const inc = inputs(sys)[1];
  // No echo, no position: nothing that makes nft read the ruleset back.
  assert.deepEqual(inc.argv, ['nft', '-f', '-']);
  assert.equal(
    inc.input,
    [
      // Refused unless the tables are still the ones this backend put there.
      `flush chain inet flowtap ${stamp}`,
      'add chain inet flowtap y',
      'delete rule inet flowtap forward handle 11',
      'insert rule inet flowtap forward counter comment "z"',
      'add rule inet flowtap forward counter comment "e"',
      'add rule inet flowtap y counter comment "y"',
      'flush chain inet flowtap x',
      'delete chain inet flowtap x',
      '',
    ].join('\n'),
  );
  assert.deepEqual(b.applied.get('n1')!.handles, { 'inet flowtap forward': [-1, 10, -1], 'inet flowtap y': [-1] });
  const same = await b.apply('n1', second);
  assert.deepEqual(same.ok && same.value, { kind: 'unchanged', rulesAdded: 0, rulesRemoved: 0 });
  assert.equal(inputs(sys).length, 2, 'nothing run for an unchanged configuration');

  // A rule in the middle, next to "a": `position` after it (its handle is known).
  const third = {
    node: 'n1',
    tables: [
      {
        ...second.tables[0],
        chains: [
          chainOf('forward', BASE, ['counter comment "z"', 'counter accept comment "a"', 'counter comment "m"', 'counter comment "e"']),
          second.tables[0].chains[1],
        ],
      },
    ],
  };
  assert.ok((await b.apply('n1', third)).ok);
  assert.equal(inputs(sys)[2].input!.split('\n')[1], 'add rule inet flowtap forward position 10 counter comment "m"');
});

test('handles an update needs and never learnt are read back from a listing first', async () => {
  const rule = (handle: number, comment: string) => ({
    rule: { family: 'inet', table: 'flowtap', chain: 'forward', handle, comment, expr: [] },
  });
  let listing = JSON.stringify({ nftables: [{ metainfo: {} }, rule(7, 'a'), rule(9, 'b')] });
  const sys = new RecordingSystem((argv) => (argv.includes('list') ? { stdout: listing } : { stdout: '' }));
  const b = new NftBackend({ system: sys, nsOf: () => 'ns' });
  // An echo without handles (nothing to match): they stay unknown, and nothing is listed yet.
  assert.ok((await b.apply('n1', config(['counter comment "a"', 'counter comment "b"']))).ok);
  assert.deepEqual(b.applied.get('n1')!.handles, { 'inet flowtap forward': [-1, -1] });
  assert.equal(sys.commandLines().length, 1);
  const r = await b.apply('n1', config(['counter comment "a"']));
  assert.deepEqual(r.ok && r.value.kind, 'incremental');
  // Only the chain the update changes is read back.
  assert.deepEqual(sys.commandLines().slice(1), ['ip netns exec ns nft -j list chain inet flowtap forward', 'ip netns exec ns nft -f -']);
  assert.equal(inputs(sys)[2].input!.split('\n')[1], 'delete rule inet flowtap forward handle 9');
  // Rules in force that are not the ones applied (a comment changed by hand): replaced whole.
  assert.ok((await b.apply('n1', config(['counter comment "a"', 'counter comment "c"']))).ok);
  listing = JSON.stringify({ nftables: [rule(7, 'hand-made'), rule(8, 'c')] });
  b.applied.get('n1')!.handles['inet flowtap forward'] = [-1, -1];
  const drift = await b.apply('n1', config(['counter comment "a"']));
  assert.ok(drift.ok && drift.value.kind === 'full' && /do not list back/.test(drift.value.reason!));
});

test('a chain that keeps none of its rules is flushed and filled again: no handle, so no listing', async () => {
  const sys = new RecordingSystem(() => ({ stdout: '' }));
  const b = new NftBackend({ system: sys, nsOf: () => 'ns' });
  assert.ok((await b.apply('n1', config(['counter comment "a"', 'counter comment "b"']))).ok);
  const r = await b.apply('n1', config(['counter comment "c"']));
  assert.ok(r.ok && r.value.kind === 'incremental');
  assert.deepEqual([r.value.rulesAdded, r.value.rulesRemoved], [1, 2]);
  assert.deepEqual(sys.commandLines().slice(1), ['ip netns exec ns nft -f -']);
  assert.deepEqual(inputs(sys)[1].input!.split('\n').slice(1, 3), [
    'flush chain inet flowtap forward',
    'add rule inet flowtap forward counter comment "c"',
  ]);
});

test('an incremental update nft refuses (the rules were changed by hand) becomes a full replacement', async () => {
  const sys = recording((script) => script.includes('delete rule'));
  const b = new NftBackend({ system: sys, nsOf: () => 'ns' });
  await b.apply('n1', config(['counter comment "a"', 'counter comment "b"']));
  const r = await b.apply('n1', config(['counter comment "a"']));
  assert.ok(r.ok);
  assert.equal(r.value.kind, 'full');
  assert.match(r.value.reason!, /incremental update was refused \(Could not process rule/);
  assert.deepEqual(
    inputs(sys).map((c) => c.input!.split('\n')[c.input!.startsWith('flush chain') ? 1 : 0]),
    ['table inet flowtap', 'delete rule inet flowtap forward handle 11', 'table inet flowtap'],
  );
});

test('a refused configuration leaves what was applied, and its handles, as they were', async () => {
  const sys = recording((script) => script.includes('"bad"'));
  const b = new NftBackend({ system: sys, nsOf: () => null });
  await b.apply('n1', config(['counter comment "a"']));
  const before = structuredClone(b.applied.get('n1'));
  const r = await b.apply('n1', config(['counter comment "bad"']));
  assert.ok(!r.ok && r.errors[0].code === 'E_NFT_REJECTED' && r.errors[0].loc?.line === 1);
  assert.deepEqual(b.applied.get('n1'), before);
  assert.equal(inputs(sys)[1].ns, undefined, "no namespace: the caller's own");
});

test('check runs nft -c on what apply would run; counters read the ruleset of the namespace once', async () => {
  const sys = recording();
  const b = new NftBackend({ system: sys, nsOf: (n) => `ns-${n}` });
  assert.ok((await b.check('n1', config(['counter comment "a"']))).ok);
  assert.deepEqual(inputs(sys)[0].argv, ['nft', '-c', '-f', '-']);
  assert.match(inputs(sys)[0].input!, /^table inet flowtap\ndelete table inet flowtap\n/);
  const wrong = await b.check('n2', config([]));
  assert.ok(!wrong.ok && wrong.errors[0].code === 'E_DATAPLANE_WRONG_NODE');
  await b.counters('n1');
  assert.deepEqual(sys.commandLines().slice(-1), ['ip netns exec ns-n1 nft -j list ruleset']);
});

test('the echo parser reads added and inserted rules with their handles', () => {
  const text = [
    'add table inet flowtap # handle 3',
    'add chain inet flowtap x # handle 2',
    'add rule inet flowtap forward iifname vmap { "ft0" : jump eg_a } # handle 4',
    'insert rule inet flowtap forward counter comment "has # handle 1 inside" # handle 5',
    '# new generation 9 by process 1 (nft)',
  ].join('\n');
  assert.deepEqual(echoedRules(text), [
    { family: 'inet', table: 'flowtap', chain: 'forward', handle: 4 },
    { family: 'inet', table: 'flowtap', chain: 'forward', handle: 5 },
  ]);
});

test('drift reads the tables back and compares them, chain by chain, by comment and order with what was applied', async () => {
  const listed = { code: 0, stdout: '', stderr: '' };
  const sys = new RecordingSystem((argv, opts) => {
    if (argv.includes('list')) return listed;
    return recordingEcho(opts.input ?? '');
  });
  const b = new NftBackend({ system: sys, nsOf: () => 'ns' });
  const nothing = await b.drift('n1');
  assert.deepEqual(nothing.ok && nothing.value, {
    node: 'n1',
    inForce: false,
    missing: [],
    extra: [],
    reason: 'nothing applied on this node yet',
  });
  assert.equal(sys.commandLines().length, 0, 'nothing read');
  assert.ok(
    (await b.apply('n1', config(['counter comment "a"', 'counter drop comment "b"', 'counter comment "a"'], ['counter comment "c"']))).ok,
  );
  const stamp = b.applied.get('n1')!.stamp;
  const chain = (name: string) => ({ chain: { family: 'inet', table: 'flowtap', name, handle: 1 } });
  const rule = (c: string, handle: number, comment?: string) => ({
    rule: { family: 'inet', table: 'flowtap', chain: c, handle, ...(comment !== undefined ? { comment } : {}), expr: [] },
  });
  const list = (...items: object[]) => JSON.stringify({ nftables: [{ metainfo: { json_schema_version: 1 } }, { table: {} }, ...items] });

  listed.stdout = list(
    chain('forward'),
    chain('x'),
    chain(stamp),
    rule('forward', 20, 'a'),
    rule('forward', 21, 'b'),
    rule('forward', 22, 'a'),
    rule('x', 23, 'c'),
  );
  const same = await b.drift('n1');
  assert.deepEqual(same.ok && same.value, { node: 'n1', inForce: true, missing: [], extra: [] });
  assert.deepEqual(sys.commandLines().slice(-1), ['ip netns exec ns nft -j list table inet flowtap']);
  assert.deepEqual(b.applied.get('n1')!.handles, { 'inet flowtap forward': [20, 21, 22], 'inet flowtap x': [23] }, 'handles learnt');

  // "b" deleted by hand, one of the two "a" too, a rule without a comment and a chain added.
  listed.stdout = list(
    chain('forward'),
    chain('x'),
    chain('y'),
    chain(stamp),
    rule('forward', 20, 'a'),
    rule('forward', 30),
    rule('x', 23, 'c'),
    rule('y', 31, 'z'),
  );
  const hand = await b.drift('n1');
  assert.ok(hand.ok);
  assert.deepEqual(hand.value, {
    node: 'n1',
    inForce: false,
    missing: [
      { table: 'flowtap', chain: 'forward', comment: 'b' },
      { table: 'flowtap', chain: 'forward', comment: 'a' },
    ],
    extra: [
      { table: 'flowtap', chain: 'forward', comment: '' },
      { table: 'flowtap', chain: 'y', comment: 'z' },
    ],
  });

  // The same rules, but the stamp is gone: someone else replaced the tables.
  listed.stdout = list(
    chain('forward'),
    chain('x'),
    rule('forward', 40, 'a'),
    rule('forward', 41, 'b'),
    rule('forward', 42, 'a'),
    rule('x', 43, 'c'),
  );
  const replaced = await b.drift('n1');
  assert.ok(replaced.ok && !replaced.value.inForce && replaced.value.missing.length === 0);
  assert.match(replaced.value.reason!, /table inet flowtap was replaced since/);

  // The table is gone: every rule missing, with the reason.
  Object.assign(listed, { code: 1, stdout: '', stderr: 'Error: No such file or directory; did you mean table ‘flowtap’ in family inet?' });
  const gone = await b.drift('n1');
  assert.ok(gone.ok);
  assert.equal(gone.value.inForce, false);
  assert.match(gone.value.reason!, /table inet flowtap is not in force/);
  assert.deepEqual(
    gone.value.missing.map((r) => `${r.chain} ${r.comment}`),
    ['forward a', 'forward b', 'forward a', 'x c'],
  );
  // Anything else nft says is an error, not drift.
  Object.assign(listed, { code: 1, stderr: 'Error: Operation not permitted' });
  const denied = await b.drift('n1');
  assert.ok(!denied.ok && denied.errors[0].code === 'E_NFT_READ');
});

test('repair replaces the tables whole whatever was applied before, and check checks that', async () => {
  const sys = new RecordingSystem((_argv, opts) => recordingEcho(opts.input ?? ''));
  const b = new NftBackend({ system: sys, nsOf: () => 'ns' });
  const c = config(['counter comment "a"']);
  assert.ok((await b.apply('n1', c)).ok);
  const unchanged = await b.apply('n1', c);
  assert.ok(unchanged.ok && unchanged.value.kind === 'unchanged');
  assert.ok((await b.check('n1', c, { repair: true })).ok);
  assert.match(inputs(sys).at(-1)!.input!, /^table inet flowtap\ndelete table inet flowtap\n/);
  assert.deepEqual(inputs(sys).at(-1)!.argv, ['nft', '-c', '-f', '-']);
  const stamp = b.applied.get('n1')!.stamp;
  const r = await b.apply('n1', c, { repair: true });
  assert.deepEqual(r.ok && r.value, { kind: 'full', rulesAdded: 1, rulesRemoved: 0, reason: 'repair: the tables are replaced whole' });
  assert.deepEqual(inputs(sys).at(-1)!.argv, ['nft', '-e', '-a', '-f', '-']);
  assert.notEqual(b.applied.get('n1')!.stamp, stamp, 'a new stamp: handles from before are void');
});

test('check of an incremental update runs no nft -c: it looks up only the devices its new rules send to', async () => {
  const sys = new RecordingSystem((argv, opts) => {
    if (argv.includes('link')) return { stdout: JSON.stringify([{ ifname: 'lo' }, { ifname: 'fm0' }]) };
    return recordingEcho(opts.input ?? '');
  });
  const b = new NftBackend({ system: sys, nsOf: () => 'ns' });
  const taps = (rules: string[]): NftNodeConfig => ({
    node: 'n1',
    tables: [
      ...config(['counter comment "a"']).tables,
      {
        family: 'netdev',
        name: 'flowtap_taps',
        sets: [],
        chains: [chainOf('tap_eg_ft0', 'type filter hook ingress device "ft0" priority 0;', rules)],
      },
    ],
  });
  assert.ok((await b.apply('n1', taps([]))).ok);
  const n = sys.commandLines().length;
  assert.ok((await b.check('n1', taps(['dup to "fm0" comment "c1"']))).ok);
  assert.deepEqual(sys.commandLines().slice(n), ['ip netns exec ns ip -j link show']);
  const missing = await b.check('n1', taps(['dup to "fm9" comment "c9"']));
  assert.ok(!missing.ok && missing.errors[0].code === 'E_DATAPLANE_DEVICE' && /fm9/.test(missing.errors[0].message));
  // A firewall rule names no device: nothing to run at all.
  const m = sys.commandLines().length;
  assert.ok(
    (await b.check('n1', { node: 'n1', tables: [config(['counter comment "a"', 'counter comment "b"']).tables[0], taps([]).tables[1]] }))
      .ok,
  );
  assert.equal(sys.commandLines().length, m);
  // thoroughCheck: nft -c as before.
  const strict = new NftBackend({ system: sys, nsOf: () => 'ns', thoroughCheck: true, applied: b.applied });
  assert.ok((await strict.check('n1', taps(['dup to "fm0" comment "c1"']))).ok);
  assert.deepEqual(inputs(sys).at(-1)!.argv, ['nft', '-c', '-f', '-']);
});
