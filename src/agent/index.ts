export { runAgent, type AgentHandle } from './agent.js';
export type { InstanceSpec, MonitorSpec } from './options.js';
export { COLLECTORS, MAX_PERIOD_MS, MIN_PERIOD_MS, type VerbositySetting } from './settings.js';
export { pushConfig, setVerbosity, verbosityAnswers, type VerbosityAnswer } from './verbosity.js';
export { AGENT_SPEC_VERSION, agentOptions, parseAgentSpec, type AgentSpec } from './spec.js';
export { appSubject, recordsPattern, recordsSubject } from './subjects.js';
