export { nodeNs, instanceNs, monitorNs, externalNs } from './names.js';
export type {
  BrokerAddresses,
  DeploymentSpec,
  DeploymentStatus,
  DownReport,
  LifecycleEvent,
  ManagementContext,
  NodePush,
  NodeReports,
  Orchestrator,
  OrchestratorDriver,
  MonitorSetup,
  Prepare,
  Probe,
  SpecChange,
} from './lifecycle.js';
export { localCloud } from './driver.js';
export { LocalCloud, downCloud, type LocalCloudEnv } from './local-cloud.js';
export { ovsBridge } from './ovs-plan.js';
export { OrchestratorCode } from './codes.js';
export { deploymentBroker } from './agents.js';
export { startForwarder, startRelay, viaLoopback, type Forwarder, type RelayRoute } from './broker-relay.js';
export { parseState, stateDirOf, type CloudState } from './state-file.js';
export { expectedOpen, judgeProbes } from './probe.js';
