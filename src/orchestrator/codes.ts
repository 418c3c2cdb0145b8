/** Stable diagnostic codes of the orchestrator. Programs match on these (`--json` prints them). */
export const OrchestratorCode = {
  /** `up` of an application that already has a deployment (or a damaged record of one). */
  ALREADY_UP: 'E_ALREADY_UP',
  /** An operation on an application that is not deployed. */
  NOT_UP: 'E_NOT_UP',
  /** The state file is not JSON, of another version, or a field has the wrong shape. */
  STATE_FILE: 'E_STATE_FILE',
  /** An instance's ports did not accept connections in time after its start. */
  INSTANCE_FAILED: 'E_INSTANCE_FAILED',
  UNKNOWN_INSTANCE: 'E_UNKNOWN_INSTANCE',
  UNKNOWN_NODE: 'E_UNKNOWN_NODE',
  UNKNOWN_MONITOR: 'E_UNKNOWN_MONITOR',
  /** A node's subnet has no free address for an instance moved there. */
  NO_ADDRESS: 'E_NO_ADDRESS',
  /** The probe agent could not run in a namespace. */
  PROBE: 'E_PROBE',
  /** A run spec placeholder that is unknown or names no running service. */
  RUN_TEMPLATE: 'E_RUN_TEMPLATE',
  /** A node agent (or the relay it ships through) did not start. */
  AGENT_START: 'E_AGENT_START',
  /** The security controller started with the deployment did not come up. */
  CONTROLLER: 'E_CONTROLLER',
  /** The deployment was made without a way to render a changed spec. */
  RECONFIGURE: 'E_RECONFIGURE',
  /** A source restriction whose id, source, port, protocol or rate is malformed (nothing is applied). */
  RESTRICTION: 'E_RESTRICTION',
  /** Another process has held the deployment's lock for too long. */
  LOCKED: 'E_LOCKED',
  /** What the deployment's data plane cannot do (Open vSwitch flows pushed through the nftables agents). */
  DATAPLANE: 'E_CLOUD_DATAPLANE',
} as const;
