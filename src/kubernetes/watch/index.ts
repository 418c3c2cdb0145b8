export { clientSource } from './client-source.js';
export { ClusterWatch, type ClusterWatchOptions, type KindCounters } from './cluster-watch.js';
export { REQUIREMENTS_CONFIGMAP, RESOURCE_KINDS, type ResourceKind } from './kinds.js';
export { isRecord, keyOf, type KubeObject } from './object.js';
export type { CacheEvent, WatchCounters } from './resource-watch.js';
export { describeError, httpStatus, type WatchSource } from './source.js';
