/**
 * `flowtap serve APP --kubeconfig FILE`: the firewall of APP on a Kubernetes cluster, kept in
 * step with the cluster. The inferred firewall is applied as NetworkPolicies once the cluster
 * has been listed, then again after every change it is inferred from (debounced); one line per
 * lifecycle event and per workflow, and both recorded in the broker for `flowtap records APP`.
 * Runs until SIGTERM or SIGINT; the policies stay in force when it stops.
 */
import { mkdirSync } from 'node:fs';
import { openBroker } from '../../broker/index.js';
import { ClusterWorkflows, describeClusterWorkflow } from '../../controller/index.js';
import { connectCluster } from '../../kubernetes/index.js';
import type { LifecycleEvent } from '../../orchestrator/index.js';
import { deploymentBroker, stateDirOf } from '../../orchestrator/index.js';
import type { CloudEnv } from '../attach.js';
import { EXIT_OK, need, type Io } from '../exit.js';
import { whenAborted } from '../signals.js';

export interface ServeKubernetesOptions {
  kubeconfig: string;
  /** The broker's store (default: the state folder's SQLite file, the local cloud's). */
  store?: string;
  json?: boolean;
  /** How long connecting waits for the API server's first lists (s). */
  connectTimeout?: number;
  /** Quiet time after a change before the firewall is inferred again (ms). */
  debounceMs?: number;
}

function describeEvent(e: LifecycleEvent): string {
  const who = e.instance ? `${e.instance}${e.service && e.service !== e.instance ? ` (${e.service})` : ''}` : (e.service ?? '');
  return `${e.type} ${who}${e.node ? ` on ${e.node}` : ''}${e.detail ? `: ${e.detail}` : ''}`;
}

export async function cmdServeKubernetes(
  io: Io,
  app: string,
  o: ServeKubernetesOptions,
  stop: AbortSignal,
  env: CloudEnv = {},
): Promise<number> {
  const print = (line: string, value: object) => io.out(o.json ? JSON.stringify(value) : line);
  const cluster = await connectCluster({
    kubeconfig: o.kubeconfig,
    app,
    ...(o.connectTimeout !== undefined ? { connectTimeoutMs: o.connectTimeout * 1000 } : {}),
  });
  try {
    const addresses = deploymentBroker(o.store ? { store: o.store } : {}, stateDirOf(env.stateDir));
    // Only the embedded store is a file of the state folder, which may not exist yet.
    if (!o.store) mkdirSync(stateDirOf(env.stateDir), { recursive: true });
    const broker = need(await openBroker({ ...addresses }));
    const m = cluster.model();
    io.err(
      `flowtap serve: ${app} is namespace ${m.namespace} on ${o.kubeconfig}: ${m.app.services.length} workload(s), ${m.app.instances.length} pod(s); records to ${addresses.store}`,
    );
    for (const p of m.problems) io.err(`flowtap serve: ${p.code}: ${p.message}`);
    const workflows = new ClusterWorkflows({
      cluster,
      append: (records) => broker.store.append(records),
      deployment: (await cluster.status()).since,
      ...(o.debounceMs !== undefined ? { debounceMs: o.debounceMs } : {}),
      onEvent: (e) => print(describeEvent(e), { lifecycle: e }),
      onWorkflow: (w) => print(describeClusterWorkflow(w), { workflow: w }),
      log: (line) => io.err(`flowtap serve: ${line}`),
    });
    try {
      await workflows.start();
      await whenAborted(stop);
    } finally {
      await workflows.stop();
      await broker.close();
    }
    const failed = workflows.history.filter((w) => !w.ok).length;
    io.err(
      `flowtap serve: stopped after ${workflows.history.length} workflow(s)${failed ? `, ${failed} failed` : ''}; the NetworkPolicies stay in force`,
    );
    return EXIT_OK;
  } finally {
    await cluster.close();
  }
}
