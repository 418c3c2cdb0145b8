/**
 * The monitor's inline mode for redirected flows: hold each client segment until the request it
 * completes is judged, then pass it or reset the connection; failMode while not running or
 * overloaded. Data plane side: dataplane/nft-inline.ts.
 */
export { InlineGate, type InlineGateOptions } from './gate.js';
export { createInline, type InlineOptions, type InlineRun, type InlineSummary } from './run-inline.js';
export { INLINE_LOG } from './inline-log.js';
export { frameTag } from './frame-tag.js';
export {
  createQueueInline,
  emptyQueueStats,
  nfqueueMissing,
  nfqueues,
  installQueueSetup,
  queuePorts,
  queueLayout,
  workerQueues,
  type PacketQueues,
  type QueueLayout,
  queueSetupCommands,
  renderQueueSetup,
  type QueueEngine,
  type QueueInlineOptions,
  type QueueInlineRun,
  type QueueInlineSummary,
} from './queue/index.js';
