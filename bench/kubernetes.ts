/**
 * Watch events handled into the model by the Kubernetes adapter, against a bare client-node
 * Watch that only JSON-parses the same events, both in this run. The stand-in API server runs
 * in a child process (this file again, with --server), so only the consumers share this
 * process's CPU. Each round the server creates a batch of running pods of one Deployment,
 * all at once; a round's time runs from asking for the batch until the consumer has it all:
 * the bare watch has counted every ADDED event, the adapter has turned every one into a
 * `deployed` lifecycle event and rebuilt its model with every pod an instance. Rounds
 * alternate between the two, one untimed round of each first; every batch is deleted while
 * nobody watches, so each round starts from the same cluster. The wall-clock rate includes the
 * server making the batch (the same for both); the CPU rate counts this process's CPU time
 * only, so it is what each consumer itself spends per event.
 *
 *   node dist/bench/kubernetes.js
 *   K8S_BENCH_PODS=2000    pods per batch (default 2000)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Watch } from '@kubernetes/client-node';
import { connectCluster, type KubernetesCluster, loadKubeConfig, startApiServer } from '../src/kubernetes/index.js';
import { fmtRate, stat } from './stats.js';

const ROUNDS = 5;
const PODS = Number(process.env.K8S_BENCH_PODS ?? 2000);
const NS = 'bench';

const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'flowtap.io/app': 'bench' } } };
const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: NS },
  spec: {
    replicas: 0,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'web:1', ports: [{ name: 'http', containerPort: 8080 }] }] },
    },
  },
};

/** A running pod of the Deployment, as its ReplicaSet and a kubelet would have made it. */
function pod(batch: string, i: number) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `web-${batch}-${i}`,
      namespace: NS,
      labels: { app: 'web', 'pod-template-hash': batch },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `web-${batch}`, uid: `rs-${batch}`, controller: true }],
    },
    spec: {
      nodeName: `node-${(i % 4) + 1}`,
      containers: [{ name: 'web', image: 'web:1', ports: [{ name: 'http', containerPort: 8080 }] }],
    },
    status: {
      phase: 'Running',
      podIP: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
      hostIP: `172.18.0.${(i % 4) + 2}`,
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

/** The child: the stand-in server, driven by one-line commands on stdin. */
async function serve(kubeconfig: string): Promise<void> {
  const srv = await startApiServer({ objects: [namespace, deployment], controllers: false, bookmarkEveryMs: 0, maxWatchEvents: 100_000 });
  srv.writeKubeconfig(kubeconfig);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say('ready');
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, batch, n] = line.split(' ');
    if (cmd === 'create') {
      for (let i = 0; i < Number(n); i++) {
        const r = srv.store.create(pod(batch, i));
        if (!r.ok) throw new Error(`create: ${JSON.stringify(r)}`);
      }
      say('created');
    } else if (cmd === 'delete') {
      for (let i = 0; i < Number(n); i++) srv.store.delete({ apiVersion: 'v1', kind: 'Pod', name: `web-${batch}-${i}`, namespace: NS });
      say(`deleted ${srv.store.resourceVersion}`);
    } else if (cmd === 'rv') say(`rv ${srv.store.resourceVersion}`);
    else if (cmd === 'quit') break;
  }
  await srv.close();
}

class Server {
  private readonly lines: Interface;
  private readonly waiting: ((line: string) => void)[] = [];

  constructor(private readonly child: ChildProcess) {
    this.lines = createInterface({ input: child.stdout! });
    this.lines.on('line', (l) => this.waiting.shift()?.(l));
  }

  /** Sends a command (or none) and resolves with the server's next line. */
  ask(command?: string): Promise<string> {
    const answer = new Promise<string>((resolve) => this.waiting.push(resolve));
    if (command) this.child.stdin!.write(`${command}\n`);
    return answer;
  }

  async quit(): Promise<void> {
    this.child.stdin!.end('quit\n');
    await new Promise((r) => this.child.once('exit', r));
  }
}

/** Seconds until the adapter has a batch as lifecycle events and as instances of its model. */
interface Timed {
  seconds: number;
  /** CPU seconds of this process (user and system) over the same span. */
  cpu: number;
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

async function adapterRound(server: Server, kubeconfig: string, batch: string): Promise<Timed & { modelMs: number }> {
  let deployed = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  const c: KubernetesCluster = await connectCluster({
    kubeconfig,
    app: 'bench',
    onEvent: (e) => {
      if (e.type === 'deployed' && ++deployed === PODS) done();
    },
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await server.ask(`create ${batch} ${PODS}`);
  await all;
  const m0 = performance.now();
  const instances = c.model().app.instances.length;
  const t1 = performance.now();
  const cpu = cpuSeconds(cpu0);
  if (instances !== PODS) throw new Error(`the model has ${instances} instances, not ${PODS}`);
  await c.close();
  return { seconds: (t1 - t0) / 1000, cpu, modelMs: t1 - m0 };
}

/** Seconds until a bare client-node Watch has parsed every ADDED event of a batch. */
async function bareRound(server: Server, kubeconfig: string, batch: string): Promise<Timed> {
  const watch = new Watch(loadKubeConfig(kubeconfig));
  const from = (await server.ask('rv')).split(' ')[1];
  let added = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  const controller = await watch.watch(
    '/api/v1/pods',
    { resourceVersion: from, allowWatchBookmarks: true },
    (type: string) => {
      if (type === 'ADDED' && ++added === PODS) done();
    },
    () => {},
  );
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await server.ask(`create ${batch} ${PODS}`);
  await all;
  const t1 = performance.now();
  const cpu = cpuSeconds(cpu0);
  controller.abort();
  return { seconds: (t1 - t0) / 1000, cpu };
}

export async function run(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-k8s-bench-'));
  const kubeconfig = join(dir, 'kubeconfig');
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--server', kubeconfig], { stdio: ['pipe', 'pipe', 'inherit'] });
  const server = new Server(child);
  const bare: number[] = [];
  const adapter: number[] = [];
  const bareCpu: number[] = [];
  const adapterCpu: number[] = [];
  const model: number[] = [];
  try {
    if ((await server.ask()) !== 'ready') throw new Error('the stand-in server did not start');
    for (let round = -1; round < ROUNDS; round++) {
      const a = await adapterRound(server, kubeconfig, `a${round + 1}`);
      await server.ask(`delete a${round + 1} ${PODS}`);
      const b = await bareRound(server, kubeconfig, `b${round + 1}`);
      await server.ask(`delete b${round + 1} ${PODS}`);
      if (round < 0) continue;
      adapter.push(PODS / a.seconds);
      adapterCpu.push(PODS / a.cpu);
      model.push(a.modelMs);
      bare.push(PODS / b.seconds);
      bareCpu.push(PODS / b.cpu);
    }
  } finally {
    await server.quit();
    rmSync(dir, { recursive: true, force: true });
  }
  const [b, a, bc, ac, m] = [bare, adapter, bareCpu, adapterCpu, model].map(stat);
  const line = (label: string, s: { median: number; min: number; max: number }, unit: string) =>
    `  ${label.padEnd(40)} ${fmtRate(s.median).padStart(8)} ${unit}  (${fmtRate(s.min)}–${fmtRate(s.max)})`;
  return [
    `Kubernetes watch: ${PODS} pod ADDED events per round, median of ${ROUNDS} rounds (spread); stand-in API server in a child process`,
    line('bare client-node Watch, JSON only', b, 'events/s wall'),
    line('adapter: cache, lifecycle, model', a, 'events/s wall'),
    line('bare client-node Watch, JSON only', bc, 'events/CPU-s'),
    line('adapter: cache, lifecycle, model', ac, 'events/CPU-s'),
    `  adapter / bare: ${(a.median / b.median).toFixed(2)} wall, ${(ac.median / bc.median).toFixed(2)} CPU`,
    `  model rebuild once the batch is in: ${m.median.toFixed(0)} ms (${m.min.toFixed(0)}–${m.max.toFixed(0)})`,
  ];
}

if (process.argv[2] === '--server') await serve(process.argv[3]);
else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) for (const l of await run()) console.log(l);
