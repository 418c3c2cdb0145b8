export { type FirewallApplied, KubernetesCluster } from './adapter.js';
export { type ConnectOptions, connectCluster, kubernetesDriver, loadKubeConfig } from './connect.js';
export type { ClusterModel } from './mapping.js';
export { startApiServer, type ApiServer } from './api-server/index.js';
