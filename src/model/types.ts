/**
 * The application model: what an operator describes, after validation.
 * Plain JSON-serialisable values so every later stage can be tested alone.
 */
import type { Location } from '../diagnostics/index.js';

type L4Protocol = 'tcp' | 'udp';
/** Application protocol spoken on a port; tells monitors which parser to use. */
export type AppProtocol = 'http' | 'postgres' | 'nats' | 'mysql' | 'dns' | 'other';

export interface PortSpec {
  name: string;
  protocol: L4Protocol;
  port: number;
  app: AppProtocol;
}

export interface RunSpec {
  /** Executable and arguments started inside the instance namespace (issue 4). */
  command: string;
  args: string[];
  env: Record<string, string>;
}

export interface Service {
  name: string;
  exposure: 'public' | 'internal';
  replicas: number;
  ports: PortSpec[];
  /** Nodes the instances may be placed on, round robin; empty = all nodes. */
  placement: string[];
  /** Free-form labels (also filled from Kubernetes labels on import). */
  labels: Record<string, string>;
  run?: RunSpec;
  loc?: Location;
}

export interface NodeSpec {
  name: string;
  loc?: Location;
}

export interface MonitorSpec {
  name: string;
  node: string;
  /** Capacity in Mbit/s the monitor can inspect. */
  capacity: number;
  /** Protocols the monitor can parse; 'any' = all. */
  inspects: Array<AppProtocol | 'any'>;
  loc?: Location;
}

export interface HttpConstraint {
  /** Upper-case methods, e.g. ["GET","POST"]; empty = any. */
  methods: string[];
  /** Path patterns: exact, or with `*` matching one segment and a trailing `**` matching the rest. */
  paths: string[];
  /** Name of the header carrying the end-user identity for request-integrity checks, if any. */
  identity?: IdentityField;
}

export interface SqlConstraint {
  /** SELECT | INSERT | UPDATE | DELETE | DDL; empty = any. */
  statements: Array<'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'DDL'>;
  /** Tables that may be touched; empty = any. */
  tables: string[];
  identity?: IdentityField;
}

export interface NatsConstraint {
  /** Subjects (NATS wildcards `*` and `>`) the client may publish to. */
  publish: string[];
  /** Subjects the client may subscribe to. */
  subscribe: string[];
}

/** Where the end-user identity lives in a request (request-integrity policy). */
export interface IdentityField {
  kind: 'header' | 'json' | 'sql-param' | 'path';
  /** Header name, JSON dotted path, 1-based SQL parameter number, or path segment index. */
  name: string;
}

export interface Requirement {
  /** Index in the descriptor's requirement list; stable id for provenance. */
  id: number;
  /** A service name, or 'external' for clients outside the application. */
  from: string;
  to: string;
  /** Port name on the `to` service. */
  port: string;
  http?: HttpConstraint;
  sql?: SqlConstraint;
  nats?: NatsConstraint;
  /** Why this requirement exists, for people reading explain output. */
  note?: string;
  loc?: Location;
}

export interface Instance {
  /** `<service>-<n>`, unique in the app. */
  name: string;
  service: string;
  ordinal: number;
  node: string;
}

export interface App {
  tenant: string;
  name: string;
  /** IPv4 CIDR the application's instances are addressed from. */
  network: string;
  nodes: NodeSpec[];
  services: Service[];
  monitors: MonitorSpec[];
  requirements: Requirement[];
  instances: Instance[];
  /** File the descriptor came from, for messages. */
  source?: string;
}

/**
 * Management context for one instance: where it is attached. Provided by the
 * orchestrator; `planAddresses` gives the deterministic default the local cloud uses.
 */
export interface Attachment {
  instance: string;
  node: string;
  /** Interface name of the instance's port on the node side (<= 15 chars). */
  port: string;
  ip: string;
  mac: string;
}

interface MonitorAttachment {
  monitor: string;
  node: string;
  port: string;
  ip: string;
  mac: string;
}

export interface Addressing {
  instances: Record<string, Attachment>;
  monitors: Record<string, MonitorAttachment>;
  /**
   * Node name -> node's own address on the inter-node underlay (VXLAN endpoint), its index,
   * the instance subnet it routes (e.g. `10.77.1.0/24`) and the gateway address its
   * instances use (the subnet's `.1`, held by the node).
   */
  nodes: Record<string, { ip: string; index: number; subnet: string; gateway: string }>;
}

export const EXTERNAL = 'external';
