/**
 * The spec file of one node's agent: what `flowtap up` tells the `flowtap agent` process it
 * starts in a node's namespace — who it collects for, the instances and monitors of its node,
 * the broker it ships to and the level it starts at. Plain JSON, so a person can read what an
 * agent was told; checked whole when read, since the agent must not start half-configured.
 */
import { z } from 'zod';
import { parseBusAddress, parseStoreAddress, type Broker } from '../broker/index.js';
import { diag, fail, ok, type Diagnostic, type Result } from '../diagnostics/index.js';
import { formatField } from '../model/index.js';
import type { System } from '../system/index.js';
import { checkOptions, type AgentOptions, type InstanceSpec, type MonitorSpec } from './options.js';
import { MAX_LEVEL, MAX_PERIOD_MS, MIN_PERIOD_MS } from './settings.js';

export const AGENT_SPEC_VERSION = 1;

export interface AgentBrokerSpec {
  /** Store and bus addresses as `openBroker` takes them (the servers' own addresses). */
  store: string;
  bus: string;
  /**
   * Unix sockets that reach the store's and the bus's servers from here: a node namespace has
   * no route to the host's network, so a relay on the host stands in (see docs/agent.md).
   */
  relay?: { store?: string; bus?: string };
}

export interface AgentSpec {
  version: typeof AGENT_SPEC_VERSION;
  tenant: string;
  app: string;
  node: string;
  /** The node's network namespace, where the agent runs. */
  nodeNs?: string;
  /** The node's Open vSwitch bridge: the one bridge a pushed Open vSwitch configuration may change. */
  ovsBridge?: string;
  instances: InstanceSpec[];
  monitors: MonitorSpec[];
  broker: AgentBrokerSpec;
  level: number;
  periodMs: number;
  /** Verbosity changes are replayed from here (the deployment's start, ms since the epoch). */
  controlSince?: number;
  costPeriodMs?: number;
  /** Bound of the buffer kept while the store is unreachable, in bytes. */
  maxBufferBytes?: number;
  /** A file the agent creates once it runs and listens to its controls (its starter waits for it). */
  ready?: string;
}

const text = z.string().min(1);
const instance = z.strictObject({
  name: text,
  service: text,
  ns: text,
  logFile: text.optional(),
  ip: text.optional(),
  iface: text.optional(),
});
const monitor = z.strictObject({ name: text, logDir: text });

const schema = z.strictObject({
  version: z.literal(AGENT_SPEC_VERSION),
  tenant: text,
  app: text,
  node: text,
  nodeNs: text.optional(),
  ovsBridge: z
    .string()
    .regex(/^[0-9a-z]{1,15}$/, 'expected a bridge name')
    .optional(),
  instances: z.array(instance),
  monitors: z.array(monitor),
  broker: z.strictObject({
    store: text,
    bus: text,
    relay: z.strictObject({ store: text.optional(), bus: text.optional() }).optional(),
  }),
  level: z.number().int().min(0).max(MAX_LEVEL),
  periodMs: z.number().int().min(MIN_PERIOD_MS).max(MAX_PERIOD_MS),
  controlSince: z.number().int().nonnegative().optional(),
  costPeriodMs: z.number().int().min(MIN_PERIOD_MS).optional(),
  maxBufferBytes: z.number().int().positive().optional(),
  ready: text.optional(),
});

/** Reads a spec file's text; every problem names the file and the field. */
export function parseAgentSpec(textIn: string, file: string): Result<AgentSpec> {
  let raw: unknown;
  try {
    raw = JSON.parse(textIn);
  } catch (e) {
    return fail(diag('E_AGENT_OPTION', `the agent spec is not JSON: ${(e as Error).message}`, { file }));
  }
  const r = schema.safeParse(raw);
  if (!r.success)
    return fail(
      r.error.issues.map((i) =>
        diag('E_AGENT_OPTION', `invalid agent spec: ${i.message}`, { file, field: formatField(i.path as (string | number)[]) || '(top)' }),
      ),
    );
  const spec = r.data as AgentSpec;
  const errors: Diagnostic[] = [];
  // The addresses are checked here, not at connection time: a typo is then reported as one.
  const store = parseStoreAddress(spec.broker.store);
  const bus = parseBusAddress(spec.broker.bus);
  for (const d of [...(store.ok ? [] : store.errors), ...(bus.ok ? [] : bus.errors)])
    errors.push({ ...d, loc: { file, field: `broker.${d.loc?.field ?? ''}` } });
  const checked = checkOptions(spec);
  if (!checked.ok) for (const d of checked.errors) errors.push({ ...d, loc: { ...d.loc, file } });
  return errors.length ? fail(errors) : ok(spec);
}

/** The agent's options from its spec: the broker it was given, and the system it acts through. */
export function agentOptions(spec: AgentSpec, broker: Pick<Broker, 'store' | 'bus'>, system: System): AgentOptions {
  return {
    tenant: spec.tenant,
    app: spec.app,
    node: spec.node,
    ...(spec.nodeNs !== undefined ? { nodeNs: spec.nodeNs } : {}),
    ...(spec.ovsBridge !== undefined ? { ovsBridge: spec.ovsBridge } : {}),
    instances: spec.instances,
    monitors: spec.monitors,
    broker,
    system,
    level: spec.level,
    periodMs: spec.periodMs,
    ...(spec.controlSince !== undefined ? { controlSince: spec.controlSince } : {}),
    ...(spec.costPeriodMs !== undefined ? { costPeriodMs: spec.costPeriodMs } : {}),
    ...(spec.maxBufferBytes !== undefined ? { shipping: { maxBufferBytes: spec.maxBufferBytes } } : {}),
  };
}
