/**
 * The security monitor: capture → decode → TCP reassembly → HTTP/PostgreSQL/NATS parsing →
 * Zeek-compatible logs and flowtap's policies. `runMonitor` is the command (`flowtap monitor`);
 * `MonitorEngine` is the pipeline for embedding (a packet at a time).
 */
export {
  MonitorEngine,
  mergePolicyOptions,
  runMonitor,
  formatNotice,
  formatRunReport,
  loadMonitorModel,
  parseAddressing,
  chooseAnalyzer,
  type MonitorEngineOptions,
  type MonitorSummary,
  type PolicyOverrides,
  type RunMonitorOptions,
  type MonitorRunResult,
  type AnalyzerKind,
} from './engine/index.js';
export * from './logs/index.js';
export {
  INLINE_LOG,
  createInline,
  InlineGate,
  type InlineOptions,
  type InlineRun,
  type InlineSummary,
  type InlineGateOptions,
  createQueueInline,
  nfqueueMissing,
  nfqueues,
  installQueueSetup,
  renderQueueSetup,
  queueSetupCommands,
  type QueueEngine,
  type QueueInlineOptions,
  type QueueInlineRun,
  type QueueInlineSummary,
} from './inline/index.js';
export * from './policy/index.js';
export {
  readPcapFile,
  liveCapture,
  writePcap,
  encodePcap,
  encodePcapHeader,
  encodePcapRecordInto,
  CaptureReader,
  readCaptureBuffer,
  type CapturedPacket,
  type CaptureSummary,
  type PcapRecord,
} from './capture/index.js';
export { PacketDecoder, DecodeStats, DECODE_REASONS } from './decode/index.js';
export { ConnTracker, type ConnTrackerOptions, type ConnTrackerStats } from './tcp/index.js';
