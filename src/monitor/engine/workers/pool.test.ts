import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diag } from '../../../diagnostics/index.js';
import { queueLayout, type QueueInlineSummary, type QueueLayout } from '../../inline/index.js';
import { CONN_LOG, MemoryLogTarget, NOTICE_LOG, ZeekLogWriter } from '../../logs/index.js';
import type { Notice } from '../../policy/index.js';
import { createQueueWorkers, type QueueWorkersOptions } from './pool.js';
import { runMonitor } from '../run-monitor.js';
import { RecordingLauncher } from './testing.js';
import type { FromWorker, WorkerStart } from './messages.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const layout = (workers: number): QueueLayout => {
  const l = queueLayout({ workers });
  assert.ok(!('code' in l));
  return l;
};

function counters(passed: number, packets: number): QueueInlineSummary {
  const q = { received: packets, batches: 1, verdicts: packets, sends: 0, enobufs: 0, recvErrors: 0, sendErrors: 0 };
  const rest = { kernelErrors: 0, callbackErrors: 0, logged: 0, logErrors: 0 };
  return {
    connections: passed,
    passed,
    blocked: 0,
    packets,
    answered: 0,
    unqueued: 0,
    missed: 0,
    queues: { open: { ...q, ...rest }, closed: { ...q, received: 0, ...rest } },
    errors: 0,
  };
}

function pool(workers: number, launcher: RecordingLauncher, extra: Partial<QueueWorkersOptions> = {}) {
  const target = new MemoryLogTarget();
  const logs = new ZeekLogWriter(target, { format: 'tsv', now: () => 1 });
  const notices: Notice[] = [];
  const run = createQueueWorkers({
    layout: layout(workers),
    start: { app: '/apps/web.yaml', tunnels: ['tun2'] },
    launcher,
    logs,
    onNotice: (n) => notices.push(n),
    stopTimeoutMs: 50,
    startTimeoutMs: 200,
    ...extra,
  });
  return { run, target, logs, notices };
}

/** Workers that bind their queues as soon as they are told to start, and finish when told to stop. */
const obliging = () =>
  new RecordingLauncher((w, m) => {
    if (m.t === 'start') queueMicrotask(() => w.says({ t: 'ready' }));
    if (m.t === 'stop')
      queueMicrotask(() => {
        w.says({ t: 'done', summary: counters(w.index + 1, 10 * (w.index + 1)), diagnostics: [] });
        w.ends(0, null);
      });
  });

const row = (uid: string): FromWorker => ({
  t: 'batch',
  schemas: [CONN_LOG],
  rows: [[CONN_LOG.path, [1, uid, '10.0.0.1', 1234, '10.0.0.2', 80, 'tcp']]],
  notices: [],
});

test('installs once, then starts every worker on its own queue of each range, and is ready when all have bound', async () => {
  const launcher = obliging();
  const order: string[] = [];
  const { run } = pool(3, launcher, {
    install: async () => {
      order.push(`install with ${launcher.workers.length} workers launched`);
      return [];
    },
  });
  assert.deepEqual(await run.start(), []);
  assert.deepEqual(order, ['install with 0 workers launched']);
  const starts = launcher.workers.map((w) => w.sent[0] as WorkerStart);
  assert.deepEqual(
    starts.map((s) => [s.t, s.index, s.queues.open, s.queues.closed, s.app, s.tunnels]),
    [
      ['start', 0, 16, 19, '/apps/web.yaml', ['tun2']],
      ['start', 1, 17, 20, '/apps/web.yaml', ['tun2']],
      ['start', 2, 18, 21, '/apps/web.yaml', ['tun2']],
    ],
  );
  await run.stop();
  assert.ok(launcher.workers.every((w) => w.sent.at(-1)?.t === 'stop'));
  const s = run.summary();
  assert.equal(s.passed, 1 + 2 + 3, 'the counters are the sum of the workers’');
  assert.equal(s.queues.open.received, 10 + 20 + 30);
  assert.deepEqual(
    s.workers.map((w) => [w.index, w.pid, w.bound.open, w.passed, w.exit?.code]),
    [
      [0, 1000, 16, 1, 0],
      [1, 1001, 17, 2, 0],
      [2, 1002, 18, 3, 0],
    ],
  );
  assert.deepEqual(run.diagnostics(), []);
});

test('a failed install launches no worker', async () => {
  const launcher = obliging();
  const { run } = pool(2, launcher, { install: async () => [diag('E_INLINE_QUEUE_SETUP', 'iptables-restore: no NFQUEUE')] });
  const problems = await run.start();
  assert.deepEqual(
    problems.map((p) => p.code),
    ['E_INLINE_QUEUE_SETUP'],
  );
  assert.equal(launcher.workers.length, 0);
});

test('rows from every worker reach the one writer whole and in each worker’s order; a schema once; notices too', async () => {
  const launcher = obliging();
  const { run, target, notices } = pool(2, launcher);
  assert.deepEqual(await run.start(), []);
  const [a, b] = launcher.workers;
  a.says(row('CA1'));
  b.says(row('CB1'));
  // Later rows name the schema by path only.
  a.says({ t: 'batch', schemas: [], rows: [[CONN_LOG.path, [2, 'CA2', '10.0.0.1', 1235, '10.0.0.2', 80, 'tcp']]], notices: [] });
  const notice = { ts: 3, note: 'Flowtap::Test', msg: 'm', uid: 'CB1' } as unknown as Notice;
  b.says({ t: 'batch', schemas: [NOTICE_LOG], rows: [], notices: [notice] });
  await run.stop();
  const lines = target.lines('conn');
  assert.equal(lines.filter((l) => l.startsWith('#fields')).length, 1, 'one TSV header for both workers');
  const uids = lines.filter((l) => !l.startsWith('#')).map((l) => l.split('\t')[1]);
  assert.deepEqual(uids, ['CA1', 'CB1', 'CA2']);
  assert.deepEqual(notices, [notice]);
});

test('a worker that dies is reported and started again on its queues after the pause; its counters add up', async () => {
  const launcher = obliging();
  const { run, target } = pool(2, launcher, { restartDelayMs: 20 });
  assert.deepEqual(await run.start(), []);
  const [a, b] = launcher.workers;
  a.says({ t: 'stats', summary: counters(4, 40) });
  a.ends(null, 'SIGKILL');
  b.says(row('CB1'));
  const d = run.diagnostics();
  assert.equal(d.length, 1);
  assert.equal(d[0].code, 'E_INLINE_QUEUE_WORKER');
  assert.match(
    d[0].message,
    /worker 0 \(queues 16, 18\) ended \(SIGKILL\): started again in 20 ms; meanwhile its flows follow their failMode/,
  );
  assert.equal(launcher.workers.length, 2, 'not at once: the kernel holds its flows to their failMode meanwhile');
  await sleep(60);
  assert.equal(launcher.workers.length, 3);
  const again = launcher.workers[2];
  assert.equal(again.index, 0);
  const start = again.sent[0] as Extract<(typeof again.sent)[number], { t: 'start' }>;
  assert.deepEqual([start.t, start.queues], ['start', { open: 16, closed: 18 }], 'the same queues');
  again.says({ t: 'stats', summary: counters(3, 30) });
  await run.stop();
  assert.deepEqual(a.sent.at(-1)?.t, 'start', 'a dead worker is not told to stop');
  const s = run.summary();
  assert.deepEqual(
    s.workers.map((w) => [w.passed, w.exit?.signal ?? null, w.restarts]),
    [
      [4 + 1, null, [{ code: null, signal: 'SIGKILL' }]],
      [2, null, []],
    ],
    'the dead process counted, then the new one (its last word at stop)',
  );
  assert.equal(s.passed, 7);
  assert.ok(target.text('conn').includes('CB1'));
});

test('a worker that keeps dying before it binds is started again after ever longer pauses, then left to its failMode', async () => {
  let launches = 0;
  const launcher = new RecordingLauncher((w, m) => {
    if (m.t !== 'start') return;
    // The first of each index binds; worker 0's later ones die at once.
    if (w.index === 0 && launches++ > 0) queueMicrotask(() => w.ends(1, null));
    else queueMicrotask(() => w.says({ t: 'ready' }));
  });
  const { run } = pool(2, launcher, { restartDelayMs: 2 });
  assert.deepEqual(await run.start(), []);
  launcher.workers[0].ends(null, 'SIGSEGV');
  const t0 = Date.now();
  while (!run.diagnostics().some((d) => d.message.includes('not started again')) && Date.now() - t0 < 3000) await sleep(5);
  const pauses = run
    .diagnostics()
    .map((d) => /started again in (\d+) ms/.exec(d.message)?.[1])
    .filter(Boolean)
    .map(Number);
  assert.deepEqual(pauses, [2, 4, 8, 16, 32, 64], 'doubled after each death before binding');
  assert.match(
    run.diagnostics().at(-1)!.message,
    /worker 0 .* ended \(exit 1\) before binding its queues 6 times in a row: not started again/,
  );
  assert.equal(launcher.workers.filter((w) => w.index === 0).length, 7, 'the first and six more');
  await sleep(150);
  assert.equal(launcher.workers.filter((w) => w.index === 0).length, 7, 'none after giving up');
  await run.stop();
});

test('a worker started again that cannot bind is reported, ended and tried again after a longer pause', async () => {
  let zeroStarts = 0;
  const launcher = new RecordingLauncher((w, m) => {
    if (m.t !== 'start') return;
    // Worker 0's second process cannot bind (its queue is taken); the others bind.
    if (w.index === 0 && ++zeroStarts === 2)
      queueMicrotask(() => w.says({ t: 'failed', diagnostics: [diag('E_INLINE_QUEUE', 'queue 16: Device or resource busy')] }));
    else queueMicrotask(() => w.says({ t: 'ready' }));
  });
  const { run } = pool(2, launcher, { restartDelayMs: 5 });
  assert.deepEqual(await run.start(), []);
  launcher.workers[0].ends(null, 'SIGKILL');
  const t0 = Date.now();
  while (launcher.workers.filter((w) => w.index === 0).length < 3 && Date.now() - t0 < 2000) await sleep(5);
  const zeros = launcher.workers.filter((w) => w.index === 0);
  assert.equal(zeros.length, 3, 'the first, the one that could not bind, and the next');
  assert.deepEqual(zeros[1].killed, ['SIGTERM'], 'the one that could not bind was ended');
  const messages = run.diagnostics().map((d) => d.message);
  assert.ok(messages.includes('queue 16: Device or resource busy'), messages.join(' | '));
  assert.ok(
    messages.some((m) => /started again in 10 ms/.test(m)),
    `the pause doubled: ${messages.join(' | ')}`,
  );
  await run.stop();
  assert.deepEqual(
    run.summary().workers[0].restarts.map((r) => r.signal),
    ['SIGKILL', 'SIGTERM'],
  );
});

test('a worker that dies while the monitor stops is not started again', async () => {
  const launcher = obliging();
  const { run } = pool(2, launcher, { restartDelayMs: 20 });
  assert.deepEqual(await run.start(), []);
  launcher.workers[0].ends(null, 'SIGKILL');
  await run.stop();
  await sleep(60);
  assert.equal(launcher.workers.length, 2);
});

test('a worker that cannot bind fails the start with its own reasons, and the others are stopped', async () => {
  const launcher = new RecordingLauncher((w, m) => {
    if (m.t === 'start')
      queueMicrotask(() =>
        w.index === 1
          ? w.says({ t: 'failed', diagnostics: [diag('E_INLINE_QUEUE_WORKER', 'worker 1: queue 17: cannot bind')] })
          : w.says({ t: 'ready' }),
      );
    if (m.t === 'stop') queueMicrotask(() => w.ends(0, null));
  });
  const { run } = pool(2, launcher);
  const problems = await run.start();
  assert.deepEqual(
    problems.map((p) => p.message),
    ['worker 1: queue 17: cannot bind'],
  );
  assert.ok(launcher.workers.every((w) => w.sent.at(-1)?.t === 'stop'));
});

test('a worker that never answers: the start gives up in time, and one that will not stop is killed', async () => {
  const silent = new RecordingLauncher();
  const { run } = pool(2, silent);
  const problems = await run.start();
  assert.deepEqual(
    problems.map((p) => p.message),
    ['worker 0 (queues 16, 18) did not bind its queues within 200 ms', 'worker 1 (queues 17, 19) did not bind its queues within 200 ms'],
  );
  assert.deepEqual(
    silent.workers.map((w) => w.killed),
    [['SIGKILL'], ['SIGKILL']],
  );
});

test('what is not the protocol is counted, never written or thrown', async () => {
  const launcher = obliging();
  const { run, target } = pool(2, launcher);
  assert.deepEqual(await run.start(), []);
  const [a] = launcher.workers;
  a.says('garbage');
  a.says({ t: 'batch', schemas: 'x', rows: [], notices: [] });
  a.says({ t: 'batch', schemas: [], rows: [['http', ['x']]], notices: [] });
  await run.stop();
  assert.deepEqual(
    run.diagnostics().map((d) => d.message),
    [
      "worker 0 (queues 16, 18) sent a message that is not one of the protocol's",
      "worker 0 (queues 16, 18) sent a message that is not one of the protocol's",
      'worker 0 (queues 16, 18) sent a http.log row before its schema',
    ],
  );
  assert.equal(target.text('http'), '');
  assert.equal(run.summary().errors, 3);
});

test('runMonitor: --workers beyond what the queues allow is bad input; N > 1 judges in workers, and one that cannot bind stops the run', async () => {
  const bad = await runMonitor({ iface: 'lo', inline: { mode: 'queue', workers: 40 } });
  assert.equal(bad.exitCode, 2);
  assert.deepEqual(
    bad.diagnostics.map((d) => [d.code, d.message]),
    [['E_MONITOR_ARGS', 'workers must be a whole number from 1 to 32, not 40']],
  );
  const launcher = new RecordingLauncher((w, m) => {
    if (m.t === 'start')
      queueMicrotask(() => w.says({ t: 'failed', diagnostics: [diag('E_INLINE_QUEUE_WORKER', `worker ${w.index}: no addon`)] }));
    if (m.t === 'stop') queueMicrotask(() => w.ends(0, null));
  });
  const r = await runMonitor({ iface: 'lo', inline: { mode: 'queue', workers: 2, install: false, launcher } });
  assert.equal(r.exitCode, 2);
  assert.deepEqual(
    r.diagnostics.map((d) => d.message),
    ['worker 0: no addon', 'worker 1: no addon'],
  );
  assert.deepEqual(
    launcher.workers.map((w) => (w.sent[0] as WorkerStart).queues),
    [
      { open: 16, closed: 18 },
      { open: 17, closed: 19 },
    ],
  );
});
