/**
 * The controller's loop without root: notices in, reactions through the guardrails, operations
 * on a recording orchestrator, every step in the broker; approval, undo, expiry, dry run,
 * rate limit and a restart that picks up from the records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appSubject, recordsSubject } from '../agent/index.js';
import { openBroker, type Broker, type BrokerRecord, type BusMessage } from '../broker/index.js';
import { modelFacts } from '../model/index.js';
import { repoFile } from '../orchestrator/testing.js';
import { SecurityController, type ControllerOptions } from './controller.js';
import { loadReactionProgram, type ReactionProgram } from './reaction/index.js';
import { FakeOrchestrator } from './testing.js';

const DVD = repoFile('examples/dvd-rental/app.yaml');
const RULES = repoFile('examples/dvd-rental/reactions.dl');

function program(o: FakeOrchestrator, text = readFileSync(RULES, 'utf8')): ReactionProgram {
  const p = loadReactionProgram(text, RULES, modelFacts(o.app, o.addressing));
  if (!p.ok) throw new Error(JSON.stringify(p.errors));
  return p.value;
}

let seq = 0;
/** A notice record as an agent ships it: addresses of the offending connection, evidence in `sub`. */
function notice(o: FakeOrchestrator, note: string, src: string, dst: string, p: number, extra: Record<string, unknown> = {}): BrokerRecord {
  const ip = (x: string) => o.addressing.instances[x]?.ip ?? x;
  seq++;
  return {
    ts: Date.now(),
    kind: 'notice',
    tenant: 'acme',
    app: 'dvd-rental',
    provenance: `Cuid${seq}`,
    data: {
      monitor: 'mon-sql',
      note,
      msg: `${note} ${seq}`,
      sub: JSON.stringify({ uids: [`Cuid${seq}`], request: `select ${seq}` }),
      src: ip(src),
      dst: ip(dst),
      p,
      ...extra,
    },
  };
}

async function setup(
  change: Partial<ControllerOptions> = {},
  rules?: string,
): Promise<{ o: FakeOrchestrator; b: Broker; c: SecurityController; control: BusMessage[] }> {
  const o = new FakeOrchestrator(DVD);
  const opened = await openBroker({ store: 'sqlite::memory:', bus: 'memory' });
  assert.ok(opened.ok);
  const b = opened.value;
  const control: BusMessage[] = [];
  await b.bus.subscribe('flowtap.acme.dvd-rental.control.*', (m) => void control.push(m));
  const c = new SecurityController({
    orchestrator: o,
    broker: b,
    program: program(o, rules),
    workDir: mkdtempSync(join(tmpdir(), 'flowtap-ctl-')),
    confirmWindowMs: 30,
    log: () => {},
    ...change,
  });
  await c.start();
  return { o, b, c, control };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function events(b: Broker, c: SecurityController): Promise<string[]> {
  await c.settled();
  return (await b.store.query({ kinds: ['reaction'] })).map((r) => {
    const x = r.data.reaction as { action: { kind: string }; id: string };
    return `${r.data.event} ${x.action.kind}`;
  });
}

test('shipping reaching for the database is quarantined at once; the rule is read back and the stop confirmed', async () => {
  const { o, b, c, control } = await setup();
  const out = await c.notice(notice(o, 'FlowTap::Unauthorized_Connection', 'shipping-0', 'db-0', 5432));
  assert.deepEqual(
    out.map((r) => [r.action.kind, r.state]),
    [
      ['quarantine', 'applied'],
      ['verbosity', 'applied'],
    ],
  );
  assert.deepEqual(o.calls, ['reconcile', 'isolate shipping-0']);
  const q = out[0];
  assert.equal(q.installed?.length, 1);
  assert.deepEqual([q.installed![0].node, q.installed![0].comment, typeof q.installed![0].handle], ['node2', 'quarantine', 'number']);
  assert.match(q.rule, /reactions\.dl:\d+$/);
  assert.match(q.derivation, /notice_src\(.*"shipping-0"\)/);
  assert.ok(q.blastRadius.some((x) => x.from === 'dvd-update' && x.to === 'shipping' && x.effect === 'cut'));
  assert.equal(q.expiresAt! - q.appliedAt!, 3600_000);
  // The verbosity went to the agent of db-0's node, at level 4.
  assert.equal(control.length, 1);
  assert.equal(control[0].subject, 'flowtap.acme.dvd-rental.control.node2');
  assert.equal((control[0].data as { level: number }).level, 4);
  // A second notice about the same attack, in flight while the quarantine went in, adds no reaction.
  const inFlight = notice(o, 'FlowTap::Unauthorized_Connection', 'shipping-0', 'db-0', 5432);
  inFlight.ts = q.createdAt - 1;
  assert.deepEqual(await c.notice(inFlight), []);
  o.packets.set('shipping-0', 7);
  await wait(80);
  assert.deepEqual(await events(b, c), [
    'proposed quarantine',
    'applied quarantine',
    'proposed verbosity',
    'applied verbosity',
    'confirmed quarantine',
    'confirmed verbosity',
  ]);
  const confirmed = (await b.store.query({ kinds: ['reaction'], text: '"confirmed"' })).find((r) => r.data.event === 'confirmed')!;
  assert.equal(confirmed.data.drops, 7);
  assert.equal(confirmed.provenance, q.notice);
  // The orchestrator's event is on record too, tied to the reaction.
  const life = await b.store.query({ kinds: ['lifecycle'] });
  assert.deepEqual(
    life.map((r) => [r.data.type, r.instance, r.provenance]),
    [['isolated', 'shipping-0', q.id]],
  );
  await c.stop();
  await b.close();
});

test("rules the data plane echoed with the apply are the quarantine's rules in force: no listing on the reaction's path", async () => {
  const { o, b, c } = await setup();
  o.answers = 'echo';
  const [q] = await c.notice(notice(o, 'FlowTap::Unauthorized_Connection', 'shipping-0', 'db-0', 5432));
  assert.equal(q.state, 'applied');
  assert.deepEqual(
    q.installed?.map((r) => [r.node, r.comment, typeof r.handle]),
    [['node2', 'quarantine', 'number']],
  );
  assert.equal(o.listed.length, 0, 'the counters were not listed to find the rules');
  // Confirmation still reads the counters, off the reaction's path.
  o.packets.set('shipping-0', 3);
  await wait(80);
  assert.ok(o.listed.includes('node2'));
  const confirmed = (await b.store.query({ kinds: ['reaction'], text: '"confirmed"' })).find((r) => r.data.event === 'confirmed');
  assert.equal(confirmed?.data.drops, 3);
  await c.stop();
  await b.close();
});

test('rules the apply committed without echo count as in force at once; the confirmation reads their handles and records them', async () => {
  const { o, b, c } = await setup();
  o.answers = 'committed';
  // The bus took the notice in 50 ms before the controller got it: the applied record says so.
  const [q] = await c.notice(notice(o, 'FlowTap::Unauthorized_Connection', 'shipping-0', 'db-0', 5432), Date.now() - 50);
  assert.equal(q.state, 'applied');
  assert.equal(o.listed.length, 0, 'nothing listed on the reaction path');
  await wait(20);
  const applied = (await b.store.query({ kinds: ['reaction'], text: '"applied"' })).find((r) => r.data.event === 'applied');
  assert.deepEqual(applied?.data.rules, ['node2 flowtap quarantine handle not read yet "quarantine"']);
  assert.ok((applied?.data.sincePublishedMs as number) >= 50 + (applied?.data.sinceReceivedMs as number), JSON.stringify(applied?.data));
  o.packets.set('shipping-0', 4);
  await wait(80);
  assert.deepEqual(o.listed, ['node2']);
  const confirmed = (await b.store.query({ kinds: ['reaction'], text: '"confirmed"' })).find((r) => r.data.event === 'confirmed');
  assert.equal(confirmed?.data.drops, 4);
  const handle = c.reactions().find((r) => r.id === q.id)?.installed?.[0].handle;
  assert.equal(typeof handle, 'number');
  assert.deepEqual(confirmed?.data.rules, [`node2 flowtap quarantine handle ${handle} "quarantine"`]);
  await c.stop();
  await b.close();
});

test('a notice that keeps coming after the quarantine leaves it unconfirmed', async () => {
  const { o, b, c } = await setup({ confirmWindowMs: 60 });
  await c.notice(notice(o, 'FlowTap::Unauthorized_Connection', 'shipping-0', 'db-0', 5432));
  await wait(10);
  const again = notice(o, 'FlowTap::Unauthorized_Connection', 'shipping-0', 'db-0', 5432);
  again.ts = Date.now() + 5;
  await c.notice(again);
  await wait(100);
  assert.ok((await events(b, c)).includes('unconfirmed quarantine'));
  assert.equal(c.reactions().find((r) => r.action.kind === 'quarantine')?.state, 'applied');
  await c.stop();
  await b.close();
});

test('a SYN flood from outside limits its source on that port; undo lifts it', async () => {
  const { o, b, c } = await setup();
  const [r] = await c.notice(notice(o, 'FlowTap::SYN_Flood', '198.51.100.7', 'contract-update-0', 8080));
  assert.deepEqual([r.action, r.state], [{ kind: 'restrict', source: '198.51.100.7', port: 8080, rate: 5 }, 'applied']);
  assert.deepEqual(o.calls, ['reconcile', 'restrict rx-198-51-100-7-p8080 198.51.100.7 port 8080 rate 5/10']);
  // One rule per node, read back.
  assert.deepEqual(
    r.installed?.map((x) => `${x.node} ${x.comment}`),
    ['node1 restrict rx-198-51-100-7-p8080', 'node2 restrict rx-198-51-100-7-p8080'],
  );
  assert.ok(r.blastRadius.every((x) => x.from === 'external 198.51.100.7' && x.effect === 'reduced'));
  const undone = await c.admin({ request: 'q1', op: 'undo', reaction: r.id, by: 'ops' });
  assert.equal(undone?.state, 'undone');
  await c.settled();
  const rec = (await b.store.query({ kinds: ['reaction'] })).find((x) => x.data.event === 'undone');
  assert.deepEqual([rec?.data.rulesLeft, rec?.data.request, rec?.data.by], [0, 'q1', 'ops'], 'read back: none of its rules is left');
  assert.deepEqual(o.calls.slice(2), ['unrestrict rx-198-51-100-7-p8080']);
  // Undoing twice is refused, on record.
  await assert.rejects(c.admin({ request: 'q2', op: 'undo', reaction: r.id }), /E_REACTION_STATE|nothing to undo/);
  await c.settled();
  const audit = await b.store.query({ kinds: ['audit'] });
  assert.deepEqual(
    audit.map((a) => [a.data.request, a.data.code]),
    [['q2', 'E_REACTION_STATE']],
  );
  await c.stop();
  await b.close();
});

test('the only instance of a front service waits for approval (min_healthy), then is quarantined when approved', async () => {
  const { o, b, c } = await setup();
  const out = await c.notice(notice(o, 'FlowTap::Disallowed_SQL', 'user-create-0', 'db-0', 5432));
  const q = out.find((r) => r.action.kind === 'quarantine')!;
  assert.equal(q.state, 'awaiting-approval');
  assert.match(q.reason!, /0 running instance\(s\) of user-create, fewer than min_healthy 1/);
  assert.ok(!o.calls.includes('isolate user-create-0'));
  await assert.rejects(c.admin({ request: 'a0', op: 'approve', reaction: 'r-nosuch' }), /no reaction r-nosuch/);
  const approved = await c.admin({ request: 'a1', op: 'approve', reaction: q.id, by: 'ops' });
  assert.equal(approved?.state, 'applied');
  assert.ok(o.calls.includes('isolate user-create-0'));
  assert.deepEqual(
    (await events(b, c)).filter((e) => e.endsWith('quarantine')),
    ['proposed quarantine', 'awaiting-approval quarantine', 'approved quarantine', 'applied quarantine'],
  );
  await c.stop();
  await b.close();
});

test('dry run: every attack records its would-be reaction and blast radius, nothing is applied', async () => {
  const { o, b, c, control } = await setup({ dryRun: true });
  await c.notice(notice(o, 'FlowTap::Unauthorized_Connection', 'shipping-0', 'db-0', 5432));
  await c.notice(notice(o, 'FlowTap::Identity_Mismatch', 'contract-update-0', 'user-update-0', 8080));
  await c.notice(notice(o, 'FlowTap::SYN_Flood', '203.0.113.9', 'user-create-0', 8080));
  assert.deepEqual(o.calls, ['reconcile']);
  assert.equal(control.length, 0);
  await c.settled();
  const dry = (await b.store.query({ kinds: ['reaction'] })).filter((r) => r.data.event === 'dry-run');
  const byAction = new Map(
    dry.map((r) => [JSON.stringify((r.data.reaction as { action: unknown }).action), r.data.reaction as { blastRadius: unknown[] }]),
  );
  assert.ok(byAction.has(JSON.stringify({ kind: 'quarantine', instance: 'shipping-0' })));
  assert.ok(byAction.has(JSON.stringify({ kind: 'quarantine', instance: 'contract-update-0' })));
  assert.ok(byAction.has(JSON.stringify({ kind: 'restrict', source: '203.0.113.9', port: 8080, rate: 5 })));
  // contract-update's quarantine would cut renting: from outside, to user-update and to the queue.
  const cu = byAction.get(JSON.stringify({ kind: 'quarantine', instance: 'contract-update-0' }))!;
  assert.deepEqual((cu.blastRadius as { from: string; to: string; effect: string }[]).map((x) => `${x.from}->${x.to} ${x.effect}`).sort(), [
    'contract-update->mq cut',
    'contract-update->user-update cut',
    'external->contract-update cut',
  ]);
  await c.stop();
  await b.close();
});

test('expiry undoes a reaction unless kept; a restarted controller keeps the ledger and its clock', async () => {
  let now = 1_000_000;
  const { o, b, c } = await setup({ now: () => now, tickMs: 10 });
  const [shipping] = await c.notice(notice(o, 'FlowTap::Unauthorized_Connection', 'shipping-0', 'db-0', 5432));
  const [flood] = await c.notice(notice(o, 'FlowTap::SYN_Flood', '198.51.100.8', 'dvd-return-0', 8080));
  assert.equal(flood.expiresAt, now + 600_000);
  await c.admin({ request: 'k', op: 'keep', reaction: shipping.id });
  await c.stop();
  // A new controller over the same broker: both reactions are in force, nothing is re-applied.
  const restarted = () =>
    new SecurityController({
      orchestrator: o,
      broker: b,
      program: program(o),
      workDir: tmpdir(),
      log: () => {},
      now: () => now,
      tickMs: 10,
    });
  const c2 = restarted();
  await c2.start();
  assert.deepEqual(
    c2
      .reactions()
      .map((r) => [r.action.kind, r.state, r.kept === true])
      .filter(([k]) => k !== 'verbosity'),
    [
      ['quarantine', 'applied', true],
      ['restrict', 'applied', false],
    ],
  );
  assert.deepEqual(await c2.notice(notice(o, 'FlowTap::SYN_Flood', '198.51.100.8', 'dvd-return-0', 8080)), []);
  now += 600_001;
  await wait(60);
  await c2.settled();
  const states = Object.fromEntries(c2.reactions().map((r) => [r.action.kind, r.state]));
  assert.equal(states.restrict, 'expired');
  assert.equal(states.verbosity, 'expired');
  assert.equal(states.quarantine, 'applied');
  assert.ok(o.calls.includes('unrestrict rx-198-51-100-8-p8080'));
  assert.ok(!o.calls.includes('release shipping-0'));
  await c2.stop();
  // The application deployed anew: what the broker remembers of the old deployment is not in force.
  o.since = new Date(Date.parse(o.since) + 1000).toISOString();
  const c3 = restarted();
  await c3.start();
  assert.deepEqual(c3.reactions(), []);
  const [again] = await c3.notice(notice(o, 'FlowTap::SYN_Flood', '198.51.100.8', 'dvd-return-0', 8080));
  assert.equal(again.state, 'applied', "not a duplicate of the old deployment's reaction");
  await c3.stop();
  await b.close();
});

test('the rate limit holds reactions past the limit for an operator', async () => {
  const { o, b, c } = await setup(
    { maxPerMinute: 1 },
    'quarantine(N, I) :- notice(N, "FlowTap::Unauthorized_Connection"), notice_src(N, I).',
  );
  const [a] = await c.notice(notice(o, 'FlowTap::Unauthorized_Connection', 'shipping-0', 'db-0', 5432));
  const [d] = await c.notice(notice(o, 'FlowTap::Unauthorized_Connection', 'dvd-return-0', 'db-0', 5432));
  assert.equal(a.state, 'applied');
  assert.equal(d.state, 'awaiting-approval');
  assert.match(d.reason!, /rate limit \(1\/min\)/);
  await c.stop();
  await b.close();
});

test('notices arrive on the bus; malformed messages are counted and skipped; a failing operation is recorded', async () => {
  const { o, b, c } = await setup({}, 'quarantine(N, I) :- notice(N, "FlowTap::Unauthorized_Connection"), notice_src(N, I).');
  o.failing = 'isolate dvd-return-0';
  const subject = recordsSubject('acme', 'dvd-rental', 'node2', 'notice');
  await b.bus.publish(subject, {
    records: [notice(o, 'FlowTap::Unauthorized_Connection', 'dvd-return-0', 'db-0', 5432), { kind: 'log' }, 7],
  });
  await b.bus.publish(subject, 'garbage');
  for (let i = 0; i < 100 && c.stats.malformed < 3; i++) await wait(10);
  assert.equal(c.stats.malformed, 3);
  await c.settled();
  const failed = c.reactions()[0];
  assert.equal(failed.state, 'failed');
  assert.match(failed.reason!, /refused by the test/);
  // Live views see every step.
  const seen: string[] = [];
  await b.bus.subscribe(appSubject('acme', 'dvd-rental', 'reactions'), (m) => void seen.push(String((m.data as BrokerRecord).data.event)), {
    fromTime: 0,
  });
  for (let i = 0; i < 50 && seen.length < 2; i++) await wait(10);
  assert.deepEqual(seen, ['proposed', 'failed']);
  await c.stop();
  await b.close();
});

test('reaction rules with mistakes are refused with where they are', () => {
  const o = new FakeOrchestrator(DVD);
  const bad = (text: string) => {
    const r = loadReactionProgram(text, 'bad.dl', modelFacts(o.app));
    assert.ok(!r.ok);
    return r.errors.map((e) => `${e.code} ${e.loc?.file ?? ''}:${e.loc?.line ?? ''} ${e.message}`).join('\n');
  };
  assert.match(bad('quarantine(N) :- notice(N, "x").'), /E_REACTION_RULES bad\.dl:1 quarantine takes 2 arguments/);
  assert.match(bad('helper(N) :- notice(N, "x").'), /no rule concludes an action/);
  assert.match(bad('quarantine(N, I) :- notice(N, I).\nneeds_approval("reboot").'), /"reboot" is not an action/);
  assert.match(bad('quarantine(N, I) :- notice(N, I).\nexpires("quarantine", -1).'), /seconds must be a positive number/);
  assert.match(bad('quarantine(N, I) :- notice(N, I'), /E_DL_/);
});

test("flowtap's own probe matrix is not taken for an attack while it runs; an attack in its window, or after it, is", async () => {
  let now = Date.now();
  const { o, b, c } = await setup({ now: () => now });
  await c.admin({ request: 'p1', op: 'probe', ms: 60_000 });
  const during = notice(o, 'FlowTap::Unauthorized_Connection', 'shipping-0', 'db-0', 5432, { sp: 61_234 });
  during.ts = now + 10;
  assert.deepEqual(await c.notice(during), []);
  assert.equal(c.stats.probe, 1);
  // The same pair in the same window from an ordinary source port: an attack, answered.
  const attack = notice(o, 'FlowTap::Unauthorized_Connection', 'user-create-0', 'db-0', 22, { sp: 40_001 });
  attack.ts = now + 20;
  assert.ok((await c.notice(attack)).some((r) => r.action.kind === 'quarantine'));
  assert.equal(c.stats.probe, 1);
  await c.admin({ request: 'p2', op: 'probe-end' });
  now += 10_000;
  // The probe's ports outside a probe window: answered like any other source.
  const later = notice(o, 'FlowTap::Unauthorized_Connection', 'shipping-0', 'db-0', 5432, { sp: 61_234 });
  later.ts = now;
  assert.ok((await c.notice(later)).some((r) => r.action.kind === 'quarantine' && r.action.instance === 'shipping-0'));
  await c.settled();
  const audit = await b.store.query({ kinds: ['audit'] });
  assert.deepEqual(
    audit.map((a) => a.data.attributed ?? a.data.op),
    ['probe', 'probe', 'probe-end'],
  );
  await c.stop();
  await b.close();
});

test('an overloaded monitor gets a sample of its flows (spec change through the orchestrator); undo restores them', async () => {
  const { o, b, c } = await setup();
  const overload: BrokerRecord = {
    ts: Date.now(),
    kind: 'notice',
    tenant: 'acme',
    app: 'dvd-rental',
    data: {
      monitor: 'mon-http',
      note: 'FlowTap::Monitor_Overload',
      msg: 'the monitor of any is 2400 ms behind',
      evidence: { lagMs: 2400 },
    },
  };
  const [r] = await c.notice(overload);
  assert.deepEqual([r.action, r.state, r.blastRadius], [{ kind: 'sample', monitor: 'mon-http', every: 4 }, 'applied', []]);
  assert.deepEqual(o.calls.slice(1), ['reconfigure {"sampledMonitors":{"mon-http":4}}']);
  assert.equal(r.expiresAt! - r.appliedAt!, 600_000);
  await c.admin({ request: 'u', op: 'undo', reaction: r.id });
  assert.deepEqual(o.calls.slice(2), ['reconfigure {"sampledMonitors":{}}']);
  await c.stop();
  await b.close();
});

test('redirect-inline recompiles with a generated one-fact policy and undo restores the policies; redeploy waits for approval and cannot be undone', async () => {
  const rules = [
    'redirect_inline(N, I, "mon-http") :- notice(N, "FlowTap::Disallowed_HTTP_Request"), notice_src(N, I).',
    'redeploy(N, I) :- notice(N, "FlowTap::Unauthorized_Connection"), notice_src(N, I).',
    'needs_approval("redeploy").',
  ].join('\n');
  const { o, b, c } = await setup({}, rules);
  const [inline] = await c.notice(notice(o, 'FlowTap::Disallowed_HTTP_Request', 'dvd-return-0', 'dvd-update-0', 8080));
  assert.deepEqual([inline.action, inline.state], [{ kind: 'redirect-inline', instance: 'dvd-return-0', monitor: 'mon-http' }, 'applied']);
  const policies = o.spec().policies;
  assert.equal(policies.length, 1);
  assert.match(readFileSync(policies[0], 'utf8'), /^tap\("dvd-return-0", "mon-http", "ip", "redirect"\)\.$/m);
  await c.admin({ request: 'u1', op: 'undo', reaction: inline.id });
  assert.deepEqual(o.spec().policies, []);
  const [redeploy] = await c.notice(notice(o, 'FlowTap::Unauthorized_Connection', 'shipping-0', 'db-0', 5432));
  assert.equal(redeploy.state, 'awaiting-approval');
  assert.ok(!o.calls.includes('redeploy shipping-0'));
  await c.admin({ request: 'a1', op: 'approve', reaction: redeploy.id });
  assert.ok(o.calls.includes('redeploy shipping-0'));
  await assert.rejects(c.admin({ request: 'u2', op: 'undo', reaction: redeploy.id }), /cannot be undone/);
  await c.stop();
  await b.close();
});

test('a quarantine released by hand (a lifecycle event from another process) is on record as undone; expiry leaves it be', async () => {
  let now = Date.now();
  const { o, b, c } = await setup({ now: () => now });
  const [q] = await c.notice(notice(o, 'FlowTap::Unauthorized_Connection', 'shipping-0', 'db-0', 5432));
  assert.equal(q.state, 'applied');
  // A shell runs `flowtap release`: the state changes under the controller, and the CLI publishes the event.
  await o.release('shipping-0');
  await b.bus.publish('flowtap.acme.dvd-rental.lifecycle', {
    ts: now,
    kind: 'lifecycle',
    tenant: 'acme',
    app: 'dvd-rental',
    instance: 'shipping-0',
    data: { type: 'released' },
  });
  for (let i = 0; i < 100 && c.reactions().find((r) => r.id === q.id)?.state !== 'undone'; i++) await wait(10);
  const r = c.reactions().find((x) => x.id === q.id)!;
  assert.equal(r.state, 'undone');
  assert.match(r.reason!, /outside the controller/);
  // Its expiry does nothing more: the controller does not release what is no longer its to release.
  const calls = o.calls.length;
  now += 3_700_000;
  await wait(1200);
  assert.equal(o.calls.slice(calls).filter((x) => x.startsWith('release')).length, 0);
  await c.settled();
  const undone = (await b.store.query({ kinds: ['reaction'] })).filter((x) => x.data.event === 'undone');
  assert.equal(undone.length, 1);
  assert.equal(undone[0].data.by, 'outside');
  await c.stop();
  await b.close();
});
