import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRng } from '../../random/index.js';
import type { KubeObject } from './object.js';
import { resourceByKind } from './resources.js';
import { ObjectStore, type StoreChange } from './store.js';
import { loose } from './testing.js';

const T0 = new Date('2024-05-01T10:00:00.123Z');
const ns = resourceByKind('v1', 'Namespace')!;
const cm = resourceByKind('v1', 'ConfigMap')!;
const pods = resourceByKind('v1', 'Pod')!;
const deployments = resourceByKind('apps/v1', 'Deployment')!;
const services = resourceByKind('v1', 'Service')!;
const netpols = resourceByKind('networking.k8s.io/v1', 'NetworkPolicy')!;

function fresh(historySize = 100): ObjectStore {
  const s = new ObjectStore({ historySize, now: () => T0, random: seededRng(7), serviceCidr: '10.96.0.0/12' });
  assert.ok(s.create(ns, undefined, { metadata: { name: 'default' } }).ok);
  return s;
}

function created(o: ReturnType<ObjectStore['create']>): KubeObject {
  assert.ok(o.ok, o.ok ? '' : o.error.message);
  return o.value;
}

test('every write bumps the one resourceVersion and stamps uid, creationTimestamp, generation', () => {
  const s = fresh();
  const a = created(s.create(cm, 'default', { metadata: { name: 'a' }, data: { x: '1' } }));
  const b = created(s.create(cm, 'default', { metadata: { name: 'b' } }));
  assert.equal(a.metadata.resourceVersion, '2');
  assert.equal(b.metadata.resourceVersion, '3');
  assert.equal(a.apiVersion, 'v1');
  assert.equal(a.kind, 'ConfigMap');
  assert.match(a.metadata.uid!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(a.metadata.uid, b.metadata.uid);
  assert.equal(a.metadata.creationTimestamp, '2024-05-01T10:00:00Z');
  assert.equal(a.metadata.generation, 1);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.metadata), 'what the store keeps cannot be changed in place');
  const a2 = created(s.update(cm, 'default', 'a', { ...a, data: { x: '2' } }));
  assert.equal(a2.metadata.resourceVersion, '4');
  assert.equal(a2.metadata.generation, 2);
  assert.equal(a2.metadata.uid, a.metadata.uid);
  const relabelled = created(s.update(cm, 'default', 'a', { ...a2, metadata: { ...a2.metadata, labels: { x: 'y' } } }));
  assert.equal(relabelled.metadata.generation, 2, 'a metadata change is not a new generation');
  assert.equal(s.revision, 5);
});

test('an update that changes nothing writes nothing', () => {
  const s = fresh();
  const a = created(s.create(cm, 'default', { metadata: { name: 'a' }, data: { x: '1' } }));
  const heard: StoreChange[] = [];
  s.subscribe((c) => heard.push(c));
  const same = created(s.update(cm, 'default', 'a', { metadata: { name: 'a' }, data: { x: '1' } }));
  assert.equal(same.metadata.resourceVersion, a.metadata.resourceVersion);
  assert.equal(heard.length, 0);
});

test('create refuses taken names (409), missing names (422), wrong namespaces and kinds (400), absent namespaces (404)', () => {
  const s = fresh();
  created(s.create(cm, 'default', { metadata: { name: 'a' } }));
  const cases: [unknown, string | undefined, string, RegExp][] = [
    [{ metadata: { name: 'a' } }, 'default', 'E_KAPI_EXISTS', /configmaps "a" already exists/],
    [{ metadata: {} }, 'default', 'E_KAPI_INVALID', /name or generateName is required/],
    [{ metadata: { name: 'Bad_Name' } }, 'default', 'E_KAPI_INVALID', /RFC 1123 subdomain/],
    [{ metadata: { name: 'x', namespace: 'other' } }, 'default', 'E_KAPI_BAD_REQUEST', /does not match the namespace/],
    [{ metadata: { name: 'x' } }, 'nowhere', 'E_KAPI_NOT_FOUND', /namespaces "nowhere" not found/],
    [{ kind: 'Secret', metadata: { name: 'x' } }, 'default', 'E_KAPI_BAD_REQUEST', /kind in the data \(Secret\)/],
    [{ metadata: { name: 'x', labels: { a: 1 } } }, 'default', 'E_KAPI_BAD_REQUEST', /metadata.labels.a/],
    [{ metadata: { name: 'x', labels: { a: 'not valid!' } } }, 'default', 'E_KAPI_INVALID', /a valid label/],
    [{ metadata: { name: 'x', resourceVersion: '5' } }, 'default', 'E_KAPI_BAD_REQUEST', /should not be set/],
    ['not an object', 'default', 'E_KAPI_BAD_REQUEST', /not a JSON object/],
  ];
  for (const [body, where, code, message] of cases) {
    const r = s.create(cm, where, body);
    assert.ok(!r.ok, JSON.stringify(body));
    assert.equal(r.error.code, code, JSON.stringify(body));
    assert.match(r.error.message, message);
  }
  const generated = created(s.create(cm, 'default', { metadata: { generateName: 'gen-' } }));
  assert.match(generated.metadata.name!, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
});

test('update: a stale resourceVersion or another uid is a Conflict; the name must match', () => {
  const s = fresh();
  const a = created(s.create(cm, 'default', { metadata: { name: 'a' } }));
  created(s.update(cm, 'default', 'a', { ...a, data: { v: '1' } }));
  const stale = s.update(cm, 'default', 'a', { ...a, data: { v: '2' } });
  assert.ok(!stale.ok);
  assert.equal(stale.error.code, 'E_KAPI_CONFLICT');
  assert.match(stale.error.message, /the object has been modified/);
  const otherUid = s.update(cm, 'default', 'a', { metadata: { name: 'a', uid: 'x' } });
  assert.ok(!otherUid.ok);
  assert.equal(otherUid.error.code, 'E_KAPI_CONFLICT');
  const renamed = s.update(cm, 'default', 'a', { metadata: { name: 'b' } });
  assert.ok(!renamed.ok);
  assert.equal(renamed.error.code, 'E_KAPI_BAD_REQUEST');
  const missing = s.update(cm, 'default', 'zzz', { metadata: { name: 'zzz' } });
  assert.ok(!missing.ok);
  assert.equal(missing.error.code, 'E_KAPI_NOT_FOUND');
});

test('status belongs to the status subresource when the type has one', () => {
  const s = fresh();
  const pod = created(
    s.create(
      pods,
      'default',
      { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] }, status: { phase: 'Running' } },
      { resetStatus: true },
    ),
  );
  assert.deepEqual(pod.status, { phase: 'Pending', qosClass: 'BestEffort' }, 'a create through the API drops the status sent');
  const main = created(
    s.update(
      pods,
      'default',
      'p',
      { ...pod, status: { phase: 'Failed' }, metadata: { ...pod.metadata, labels: { a: 'b' } } },
      { keepStatus: true },
    ),
  );
  assert.equal(loose(main.status).phase, 'Pending');
  assert.equal(main.metadata.labels?.a, 'b');
  const status = created(
    s.update(
      pods,
      'default',
      'p',
      { ...main, status: { phase: 'Running' }, metadata: { ...main.metadata, labels: {} } },
      { subresource: 'status' },
    ),
  );
  assert.equal(loose(status.status).phase, 'Running');
  assert.equal(status.metadata.labels?.a, 'b', 'a status write changes only status');
});

test('defaults: NetworkPolicy policyTypes, namespace name label, port protocols, Deployment replicas', () => {
  const s = fresh();
  const np = created(s.create(netpols, 'default', { metadata: { name: 'n' }, spec: { podSelector: {}, egress: [{}] } }));
  assert.deepEqual(loose(np.spec).policyTypes, ['Ingress', 'Egress']);
  const space = s.get(ns, undefined, 'default')!;
  assert.equal(space.metadata.labels?.['kubernetes.io/metadata.name'], 'default');
  const d = created(
    s.create(deployments, 'default', {
      metadata: { name: 'd' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i:1', ports: [{ containerPort: 80 }] }] } },
      },
    }),
  );
  assert.equal(loose(d.spec).replicas, 1);
  assert.equal(loose(d.spec).template.spec.containers[0].ports[0].protocol, 'TCP');
  const mismatch = s.create(deployments, 'default', {
    metadata: { name: 'e' },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      template: { metadata: { labels: { a: 'c' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
    },
  });
  assert.ok(!mismatch.ok);
  assert.match(mismatch.error.message, /selector` does not match template `labels`/);
});

test('Services get cluster IPs from the service block; the IP is immutable and freed on delete', () => {
  const s = fresh();
  const a = created(s.create(services, 'default', { metadata: { name: 'a' }, spec: { ports: [{ port: 80 }] } }));
  assert.equal(loose(a.spec).clusterIP, '10.96.0.1');
  assert.deepEqual(loose(a.spec).ports, [{ port: 80, protocol: 'TCP', targetPort: 80 }]);
  const b = created(s.create(services, 'default', { metadata: { name: 'b' }, spec: { clusterIP: '10.96.0.9' } }));
  assert.equal(loose(b.spec).clusterIP, '10.96.0.9');
  const taken = s.create(services, 'default', { metadata: { name: 'c' }, spec: { clusterIP: '10.96.0.9' } });
  assert.ok(!taken.ok);
  assert.match(taken.error.message, /already allocated/);
  const moved = s.update(services, 'default', 'a', { metadata: { name: 'a' }, spec: { clusterIP: '10.96.0.5' } });
  assert.ok(!moved.ok);
  assert.match(moved.error.message, /immutable/);
  const kept = created(s.update(services, 'default', 'a', { metadata: { name: 'a' }, spec: { ports: [{ port: 81 }] } }));
  assert.equal(loose(kept.spec).clusterIP, '10.96.0.1');
  assert.ok(s.delete(services, 'default', 'b').ok);
  created(s.create(services, 'default', { metadata: { name: 'c' }, spec: { clusterIP: '10.96.0.9' } }));
  const headless = created(s.create(services, 'default', { metadata: { name: 'h' }, spec: { clusterIP: 'None' } }));
  assert.equal(loose(headless.spec).clusterIP, 'None');
});

test('delete: preconditions, the deleted object back, a DELETED change at a new resourceVersion', () => {
  const s = fresh();
  const a = created(s.create(cm, 'default', { metadata: { name: 'a' } }));
  const heard: StoreChange[] = [];
  s.subscribe((c) => heard.push(c));
  const wrong = s.delete(cm, 'default', 'a', { preconditions: { uid: 'nope' } });
  assert.ok(!wrong.ok);
  assert.equal(wrong.error.code, 'E_KAPI_CONFLICT');
  const dry = s.delete(cm, 'default', 'a', { dryRun: true });
  assert.ok(dry.ok);
  assert.ok(s.get(cm, 'default', 'a'));
  const gone = s.delete(cm, 'default', 'a', { propagation: 'Orphan' });
  assert.ok(gone.ok);
  assert.equal(gone.value.metadata.resourceVersion, a.metadata.resourceVersion);
  assert.equal(s.get(cm, 'default', 'a'), undefined);
  assert.equal(heard.length, 1);
  assert.equal(heard[0].type, 'DELETED');
  assert.equal(heard[0].object.metadata.resourceVersion, String(s.revision));
  assert.equal(heard[0].propagation, 'Orphan');
  const again = s.delete(cm, 'default', 'a');
  assert.ok(!again.ok);
  assert.equal(again.error.code, 'E_KAPI_NOT_FOUND');
});

test('items at an older resourceVersion undo later changes; too old is Expired', () => {
  const s = fresh(6);
  created(s.create(cm, 'default', { metadata: { name: 'a' }, data: { v: '1' } }));
  const at = s.revision;
  const b = created(s.create(cm, 'default', { metadata: { name: 'b' } }));
  created(s.update(cm, 'default', 'b', { ...b, data: { v: 'changed' } }));
  assert.ok(s.delete(cm, 'default', 'a').ok);
  const now = s.items(cm, 'default');
  assert.ok(now.ok);
  assert.deepEqual(
    now.value.map((e) => e.key),
    ['default/b'],
  );
  const then = s.items(cm, 'default', at);
  assert.ok(then.ok);
  assert.deepEqual(
    then.value.map((e) => [e.key, loose(e.object.data)?.v]),
    [['default/a', '1']],
  );
  for (let i = 0; i < 6; i++) created(s.create(cm, 'default', { metadata: { name: `x${i}` } }));
  const expired = s.items(cm, 'default', at);
  assert.ok(!expired.ok);
  assert.equal(expired.error.code, 'E_KAPI_EXPIRED');
});

test('listeners hear changes in resourceVersion order, also those written while listening', () => {
  const s = fresh();
  const order: string[] = [];
  s.subscribe((c) => {
    order.push(`first:${c.rv}`);
    if (c.object.metadata.name === 'a') s.create(cm, 'default', { metadata: { name: 'b' } });
  });
  s.subscribe((c) => order.push(`second:${c.rv}`));
  created(s.create(cm, 'default', { metadata: { name: 'a' } }));
  assert.deepEqual(order, ['first:2', 'second:2', 'first:3', 'second:3']);
});

test('idle hooks run once every change has been heard, and again after writes they make', () => {
  const s = fresh();
  const log: string[] = [];
  s.subscribe((c) => log.push(`heard:${c.object.metadata.name}`));
  let made = false;
  s.onIdle(() => {
    log.push('idle');
    if (!made) {
      made = true;
      s.create(cm, 'default', { metadata: { name: 'from-idle' } });
    }
  });
  created(s.create(cm, 'default', { metadata: { name: 'a' } }));
  assert.deepEqual(log, ['heard:a', 'idle', 'heard:from-idle', 'idle']);
});
