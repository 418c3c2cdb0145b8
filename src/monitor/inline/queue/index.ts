/**
 * The inline monitor's queue mode (issue 13): redirected packets wait in a netfilter queue only
 * while the engine judges them, instead of being held until the client retransmits.
 * queue-setup.ts steers the monitor namespace into the queues, packet-queue.ts is the effect
 * (native addon in native/nfqueue), queue-judge.ts the decisions, run-queue.ts the wiring.
 */
export {
  createQueueInline,
  ownTunnels,
  queuePorts,
  type QueueEngine,
  type QueueInlineOptions,
  type QueueInlineRun,
  type QueueInlineSummary,
} from './run-queue.js';
export {
  emptyQueueStats,
  nfqueueMissing,
  nfqueues,
  type PacketQueues,
  type OpenQueue,
  type QueuedPacket,
  type QueueStats,
} from './packet-queue.js';
export {
  DEFAULT_QUEUES,
  installQueueSetup,
  queueLayout,
  workerQueues,
  type QueueLayout,
  QUEUE_MARKS,
  queueSetupCommands,
  QUEUE_TABLE,
  renderQueueSetup,
  type QueueSetupOptions,
} from './queue-setup.js';
