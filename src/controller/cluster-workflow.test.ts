/**
 * The cluster firewall workflows against a fake cluster and a hand-driven clock: what triggers a
 * workflow, how a burst becomes one, that workflows never overlap, and what is recorded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrokerRecord } from '../broker/index.js';
import { diag, FlowtapError } from '../diagnostics/index.js';
import type { Ruleset } from '../firewall/index.js';
import type { App } from '../model/index.js';
import type { LifecycleEvent } from '../orchestrator/index.js';
import {
  type ClusterFirewall,
  type ClusterWorkflow,
  ClusterWorkflows,
  describeClusterWorkflow,
  type PolicyChanges,
} from './cluster-workflow.js';

type Change = { type: string; kind: string; name: string };

class FakeCluster implements ClusterFirewall {
  readonly app = { tenant: 'acme', name: 'shop' } as App;
  rules = 4;
  /** The requirements cannot be read: inference refuses. */
  broken: string | undefined;
  applies = 0;
  /** While set, applyFirewall waits for it. */
  gate: Promise<void> | undefined;
  next: PolicyChanges = { created: ['default-deny', 'web-flowtap'], replaced: [], unchanged: [], deleted: [] };
  private readonly events = new Set<(e: LifecycleEvent) => void>();
  private readonly changes = new Set<(c: Change) => void>();

  onEvent(l: (e: LifecycleEvent) => void) {
    this.events.add(l);
    return () => this.events.delete(l);
  }
  onChange(l: (c: Change) => void) {
    this.changes.add(l);
    return () => this.changes.delete(l);
  }
  inferredFirewall(): Ruleset {
    if (this.broken)
      throw new FlowtapError([diag('E_K8S_REQUIREMENTS', this.broken), diag('E_UNKNOWN_SERVICE', 'unknown service "cache"')]);
    return { rules: Array.from({ length: this.rules }, () => ({})) } as unknown as Ruleset;
  }
  async applyFirewall(): Promise<PolicyChanges> {
    this.applies++;
    await this.gate;
    return structuredClone(this.next);
  }
  pod(type: LifecycleEvent['type'], instance: string) {
    for (const l of this.events) l({ type, instance, service: instance.split('-')[0], ts: '2025-01-01T00:00:00.000Z' });
  }
  change(type: string, kind: string, name: string) {
    for (const l of this.changes) l({ type, kind, name });
  }
  get listening(): number {
    return this.events.size + this.changes.size;
  }
}

/** A clock and timers moved by the test. */
class Clock {
  t = 1_000_000;
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  readonly now = () => this.t;
  readonly schedule = (fn: () => void, ms: number) => {
    const timer = { at: this.t + ms, fn, live: true };
    this.timers.push(timer);
    return () => {
      timer.live = false;
    };
  };
  get armed(): number {
    return this.timers.filter((x) => x.live).length;
  }
  async advance(ms: number): Promise<void> {
    const until = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.live && x.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.t = due.at;
      due.live = false;
      due.fn();
      await settle();
    }
    this.t = until;
    await settle();
  }
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

function rig(opts: { debounceMs?: number; maxDelayMs?: number; append?: (r: BrokerRecord[]) => Promise<void> } = {}) {
  const cluster = new FakeCluster();
  const clock = new Clock();
  const records: BrokerRecord[] = [];
  const done: ClusterWorkflow[] = [];
  const logged: string[] = [];
  const w = new ClusterWorkflows({
    cluster,
    deployment: '2025-01-01T00:00:00Z',
    append:
      opts.append ??
      (async (r) => {
        records.push(...r);
      }),
    debounceMs: opts.debounceMs ?? 300,
    ...(opts.maxDelayMs !== undefined ? { maxDelayMs: opts.maxDelayMs } : {}),
    now: clock.now,
    schedule: clock.schedule,
    onWorkflow: (x) => done.push(x),
    log: (l) => logged.push(l),
  });
  const steps = () => records.filter((r) => r.kind === 'config').map((r) => `${r.data.workflow} ${r.data.step}`);
  return { cluster, clock, records, done, logged, w, steps };
}

test('start applies the inferred firewall once and records it as a deployed workflow', async () => {
  const { cluster, w, records, steps, clock } = rig();
  const first = await w.start();
  assert.equal(cluster.applies, 1);
  assert.equal(first.kind, 'deployed');
  assert.deepEqual(first.trigger, ['start']);
  assert.equal(first.rules, 4);
  assert.ok(first.ok);
  await w.stop();
  const id = first.workflow;
  assert.match(id, /^deployed-[0-9a-z]+$/);
  assert.deepEqual(steps(), [`${id} rendered`, `${id} applied`]);
  const applied = records[1];
  assert.equal(applied.tenant, 'acme');
  assert.equal(applied.app, 'shop');
  assert.equal(applied.provenance, id);
  assert.deepEqual(applied.data, {
    workflow: id,
    kind: 'deployed',
    deployment: '2025-01-01T00:00:00Z',
    trigger: ['start'],
    step: 'applied',
    created: ['default-deny', 'web-flowtap'],
    replaced: [],
    unchanged: [],
    deleted: [],
    ms: 0,
  });
  assert.equal(clock.armed, 0);
});

test('a burst of pod events and a workload change is one workflow after the quiet time', async () => {
  const { cluster, clock, w, done } = rig();
  await w.start();
  cluster.change('ADDED', 'Deployment', 'cache');
  for (let i = 0; i < 10; i++) {
    cluster.pod('deploying', `cache-${i}`);
    cluster.pod('deployed', `cache-${i}`);
  }
  await clock.advance(200);
  cluster.change('MODIFIED', 'ConfigMap', 'flowtap-requirements');
  // 200 ms after the last change: still quiet time.
  await clock.advance(299);
  assert.equal(done.length, 1);
  await clock.advance(1);
  assert.equal(done.length, 2);
  assert.equal(cluster.applies, 2);
  const w2 = done[1];
  assert.equal(w2.kind, 'changed');
  assert.equal(w2.changes, 12, 'deploying events do not count');
  assert.deepEqual(w2.trigger, [
    'Deployment cache added',
    'deployed cache-0, cache-1, cache-2 and 7 more',
    'ConfigMap flowtap-requirements changed',
  ]);
  assert.equal(clock.armed, 0);
  await w.stop();
});

test('every lifecycle event is recorded; only those that change the model start a workflow', async () => {
  const { cluster, clock, w, done, records } = rig();
  await w.start();
  cluster.pod('deploying', 'web-1');
  cluster.pod('isolated', 'web-1');
  cluster.pod('released', 'web-1');
  await clock.advance(1000);
  assert.equal(done.length, 1);
  cluster.pod('terminated', 'web-1');
  cluster.pod('failed', 'db-0');
  await clock.advance(300);
  assert.equal(done.length, 2);
  assert.deepEqual(done[1].trigger, ['terminated web-1', 'failed db-0']);
  await w.stop();
  const life = records.filter((r) => r.kind === 'lifecycle');
  assert.deepEqual(
    life.map((r) => `${r.data.type} ${r.instance} ${r.service} ${r.tenant}/${r.app}`),
    ['deploying', 'isolated', 'released', 'terminated', 'failed'].map((t) => `${t} ${t === 'failed' ? 'db-0 db' : 'web-1 web'} acme/shop`),
  );
});

test('changes that never stop still get a workflow by the longest wait', async () => {
  const { cluster, clock, w, done } = rig({ debounceMs: 300, maxDelayMs: 1000 });
  await w.start();
  for (let i = 0; i < 15; i++) {
    cluster.pod('deployed', `web-${i}`);
    await clock.advance(100);
    if (i === 8) assert.equal(done.length, 1, 'not before the longest wait');
  }
  assert.ok(done.length >= 2);
  assert.equal(done[1].trigger[0], 'deployed web-0, web-1, web-2 and 7 more');
  await w.stop();
});

test('workflows never overlap: changes during one go together in the next', async () => {
  const { cluster, clock, w, done, steps } = rig();
  await w.start();
  let open!: () => void;
  cluster.gate = new Promise((r) => (open = r));
  cluster.change('ADDED', 'Deployment', 'cache');
  await clock.advance(300);
  assert.equal(cluster.applies, 2, 'the second workflow is applying');
  cluster.change('MODIFIED', 'ConfigMap', 'flowtap-requirements');
  await clock.advance(300);
  cluster.pod('deployed', 'cache-0');
  await clock.advance(300);
  assert.equal(cluster.applies, 2, 'none starts while one applies');
  cluster.gate = undefined;
  open();
  await settle();
  await clock.advance(0);
  assert.equal(cluster.applies, 3);
  assert.deepEqual(
    done.map((x) => x.trigger),
    [['start'], ['Deployment cache added'], ['ConfigMap flowtap-requirements changed', 'deployed cache-0']],
  );
  await w.stop();
  const [a, b] = [done[1].workflow, done[2].workflow];
  assert.notEqual(a, b);
  // Each workflow's records are whole before the next one's begin.
  assert.deepEqual(steps().slice(2), [`${a} rendered`, `${a} applied`, `${b} rendered`, `${b} applied`]);
});

test('a firewall that cannot be inferred fails the workflow on one line, keeps what is in force, and the next change retries', async () => {
  const { cluster, clock, w, done, records } = rig();
  await w.start();
  cluster.broken = 'the requirements of shop cannot be read; no firewall is applied until they are fixed';
  cluster.change('DELETED', 'Deployment', 'cache');
  await clock.advance(300);
  const failed = done[1];
  assert.equal(failed.ok, false);
  assert.equal(cluster.applies, 1, 'nothing applied');
  assert.doesNotMatch(failed.error!, /\n/);
  assert.match(
    failed.error!,
    /E_K8S_REQUIREMENTS: the requirements of shop cannot be read.*; error E_UNKNOWN_SERVICE: unknown service "cache"/,
  );
  assert.deepEqual(
    failed.errors?.map((d) => d.code),
    ['E_K8S_REQUIREMENTS', 'E_UNKNOWN_SERVICE'],
  );
  assert.match(
    describeClusterWorkflow(failed),
    /^workflow changed-\w+ \(Deployment cache removed\): failed after 0 ms: error E_K8S_REQUIREMENTS/,
  );
  const rec = records.filter((r) => r.provenance === failed.workflow).map((r) => r.data.step);
  assert.deepEqual(rec, ['failed']);
  cluster.broken = undefined;
  cluster.next = { created: [], replaced: ['web-flowtap'], unchanged: ['default-deny'], deleted: ['cache-flowtap'] };
  cluster.change('MODIFIED', 'ConfigMap', 'flowtap-requirements');
  await clock.advance(300);
  assert.ok(done[2].ok);
  assert.equal(
    describeClusterWorkflow(done[2]),
    `workflow ${done[2].workflow} (ConfigMap flowtap-requirements changed): 4 rules; replaced web-flowtap; deleted cache-flowtap; 1 unchanged; 0 ms`,
  );
  await w.stop();
});

test('stop drops waiting changes and stops listening; a failing store is logged, not fatal', async () => {
  let fail = true;
  const stored: BrokerRecord[] = [];
  const { cluster, clock, w, done, logged } = rig({
    append: async (r) => {
      if (fail) throw new Error('disk full');
      stored.push(...r);
    },
  });
  await w.start();
  assert.ok(done[0].ok, 'the firewall is applied without the store');
  fail = false;
  cluster.pod('deployed', 'web-1');
  await w.stop();
  await clock.advance(1000);
  assert.equal(done.length, 1);
  assert.equal(cluster.listening, 0);
  cluster.pod('deployed', 'web-2');
  assert.equal(clock.armed, 0);
  assert.deepEqual(logged, ['cannot store 1 record(s): disk full', 'cannot store 1 record(s): disk full']);
  assert.deepEqual(
    stored.map((r) => r.kind),
    ['lifecycle'],
  );
});
