/**
 * Entry points: `connectCluster` follows one application on the cluster a kubeconfig names;
 * `kubernetesDriver` offers it in the orchestrator driver's shape, where only `attach` and
 * `down` fit (the workloads are deployed with the cluster's own tools, not by `up`).
 */
import { KubeConfig } from '@kubernetes/client-node';
import { diag, FlowtapError } from '../diagnostics/index.js';
import type { DownReport, Orchestrator, OrchestratorDriver } from '../orchestrator/index.js';
import { KubernetesCluster, type KubernetesClusterOptions } from './adapter.js';
import { clientApi } from './client-api.js';
import { KubernetesCode } from './codes.js';
import { clientSource } from './watch/index.js';

export interface ConnectOptions extends Omit<KubernetesClusterOptions, 'sources' | 'api' | 'app'> {
  /** Path of the kubeconfig; its current context names the cluster and the credentials. */
  kubeconfig: string;
  app: string;
}

export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : (err.message ?? String(e)).split('\n')[0];
    throw new FlowtapError(diag(KubernetesCode.KUBECONFIG, `cannot read kubeconfig: ${why}`, { file: path }));
  }
  if (!kc.getCurrentCluster())
    throw new FlowtapError(
      diag(KubernetesCode.KUBECONFIG, `the kubeconfig's current context (${kc.getCurrentContext() || 'none'}) names no cluster`, {
        file: path,
      }),
    );
  return kc;
}

export async function connectCluster(opts: ConnectOptions): Promise<KubernetesCluster> {
  const { kubeconfig, ...rest } = opts;
  const kc = loadKubeConfig(kubeconfig);
  return KubernetesCluster.connect({ ...rest, sources: (k) => clientSource(kc, k), api: clientApi(kc) });
}

export function kubernetesDriver(env: { kubeconfig: string } & Omit<ConnectOptions, 'app' | 'kubeconfig'>): OrchestratorDriver {
  return {
    async up(spec): Promise<Orchestrator> {
      throw new FlowtapError(
        diag(
          KubernetesCode.UNSUPPORTED,
          `up of ${spec.descriptor}: not supported on kubernetes (deploy the workloads with the cluster's tools, label their namespace flowtap.io/app, then attach)`,
        ),
      );
    },
    async attach(app): Promise<Orchestrator> {
      return connectCluster({ ...env, app });
    },
    async down(app): Promise<DownReport> {
      const cluster = await connectCluster({ ...env, app });
      return cluster.down();
    },
  };
}
