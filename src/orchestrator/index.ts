export { nodeNs, instanceNs, monitorNs, externalNs } from './names.js';
export type {
  DeploymentSpec,
  DeploymentStatus,
  Deployed,
  DownReport,
  InstanceHealth,
  InstanceState,
  InstanceStatus,
  LifecycleEvent,
  LifecycleListener,
  LifecycleType,
  ManagementContext,
  MonitorCommand,
  MonitorStatus,
  Orchestrator,
  OrchestratorDriver,
  PortStatus,
  Prepare,
  Probe,
  SpecChange,
  StatusOptions,
  TrackedProcess,
} from './lifecycle.js';
export { localCloud } from './driver.js';
export { LocalCloud, downCloud, type LocalCloudEnv } from './local-cloud.js';
export { OrchestratorCode } from './codes.js';
