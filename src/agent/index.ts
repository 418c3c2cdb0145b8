export { runAgent, AGENT_COST, type AgentHandle, type AgentStats } from './agent.js';
export type { AgentOptions, InstanceSpec, MonitorSpec } from './options.js';
export { checkOptions } from './options.js';
export {
  COLLECTORS,
  COLLECTOR_LEVEL,
  COLLECTOR_KINDS,
  MAX_LEVEL,
  DEFAULT_PERIOD_MS,
  parseVerbosity,
  type CollectorName,
  type CollectorSetting,
  type Settings,
  type VerbositySetting,
} from './settings.js';
export { setVerbosity, pushConfig, type AgentTarget } from './verbosity.js';
export type { ConfigPush, ConfigAck, ConfigOutcome } from './config-push.js';
export { ALL_NODES, controlSubject, controlPattern, configSubject, recordsSubject } from './subjects.js';
export type { LossReport } from './shipper.js';
export type { CostReport } from './cost.js';
export { AGENT_SPEC_VERSION, agentOptions, parseAgentSpec, type AgentSpec } from './spec.js';
