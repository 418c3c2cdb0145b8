/**
 * Records: everything the context broker keeps. One shape for every kind, so one store, one
 * query and one retention serve topology, counters, flows, logs, monitor rows and reactions
 * alike; `data` holds what is specific to the kind.
 */
export const RECORD_KINDS = [
  'topology', // services, instances, nodes, addresses, taps and their placement
  'config', // configuration pushed to a node: what, version, outcome
  'lifecycle', // orchestrator events: deploying, deployed, terminated, isolated, ...
  'counter', // per firewall rule and per tap: packets, bytes, drops
  'interface', // interface statistics
  'flow', // connection table: per connection bytes, packets, state
  'log', // instances' output
  'monitor-log', // a monitor's conn/http/sql/nats/notice/weird row
  'syscall', // system calls per instance, executions, outgoing connects
  'notice', // a monitor's notice
  'reaction', // what the controller did (or would do) about a notice
  'agent-cost', // an agent's own cost per collector: cpu, records, bytes
  'audit', // a write through the API or the CLI, with its tenant
] as const;

export type RecordKind = (typeof RECORD_KINDS)[number];

export interface BrokerRecord {
  /** Milliseconds since the epoch. */
  ts: number;
  kind: RecordKind;
  tenant: string;
  app: string;
  node?: string;
  service?: string;
  instance?: string;
  /** Ties a record to what caused it: a monitor row keeps its connection uid, a reaction its notice. */
  provenance?: string;
  data: Record<string, unknown>;
}

/** A record as the store returns it: with the id the store gave it (increasing in append order). */
export interface StoredRecord extends BrokerRecord {
  id: number;
}
