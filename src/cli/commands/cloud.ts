/**
 * `flowtap up | down | status | notices | isolate | release | terminate | redeploy | move |
 * restrict | unrestrict | reconcile`: deployments through the orchestrator interface (the local
 * cloud by default). The
 * deployment is rendered by the controller from the spec the orchestrator recorded at `up`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openBroker, parseBusAddress, parseStoreAddress, type Broker, type BrokerRecord } from '../../broker/index.js';
import { lifecycleRecord, lifecycleSubject, loadReactionProgram, prepareDeployment, topologyRecords } from '../../controller/index.js';
import { diag, FlowtapError, type Diagnostic } from '../../diagnostics/index.js';
import type { Drift, SourceRestriction } from '../../dataplane/index.js';
import { loadApp, modelFacts, type App } from '../../model/index.js';
import {
  deploymentBroker,
  OrchestratorCode,
  stateDirOf,
  type BrokerAddresses,
  type DeploymentSpec,
  type DeploymentStatus,
  type LifecycleEvent,
  type Orchestrator,
} from '../../orchestrator/index.js';
import { CliCode } from '../codes.js';
import { EXIT_OK, need, type Io } from '../exit.js';
import { resolveAppPath } from '../load.js';
import { appNameOf, attachCloud, driver, prepare, type CloudEnv } from '../attach.js';

export interface UpOptions {
  policy: string[];
  mode: DeploymentSpec['mode'];
  strategy: DeploymentSpec['strategy'];
  /** The context broker (default: the embedded one in the state folder). */
  store?: string;
  bus?: string;
  /** What the node agents start with (default level 1, every 5 s). */
  level?: number;
  periodMs?: number;
  /** Start the security controller with these rules. */
  controller?: { rules: string; dryRun: boolean };
  /** How the monitors stand in redirected flows (default hold; kept in the spec only when queue). */
  inlineMode?: 'hold' | 'queue';
  /** Queue workers per inline monitor (default 1; more only with the queue mode). */
  inlineWorkers?: number;
  /** The nodes' data plane (default nftables). */
  dataplane?: 'ovs';
  json: boolean;
}

export type Operation = 'isolate' | 'release' | 'terminate' | 'redeploy' | 'move';

/**
 * The deployment's broker: checked before anything is built, and shared by processes (agents,
 * commands), so an in-memory store or bus is refused.
 */
function brokerFor(o: UpOptions, env: CloudEnv): BrokerAddresses {
  const b = deploymentBroker({ store: o.store, bus: o.bus }, stateDirOf(env.stateDir));
  const errors: Diagnostic[] = [];
  const store = parseStoreAddress(b.store);
  const bus = parseBusAddress(b.bus);
  if (!store.ok) errors.push(...store.errors);
  if (!bus.ok) errors.push(...bus.errors);
  if (store.ok && store.value.kind === 'sqlite' && store.value.path === ':memory:')
    errors.push(
      diag(CliCode.OPTION, 'the store must be shared by the agents and the commands: a file or a server, not :memory:', { field: 'store' }),
    );
  if (bus.ok && bus.value.kind === 'memory' && bus.value.path === ':memory:')
    errors.push(
      diag(CliCode.OPTION, 'the bus must be shared by the agents and the commands: memory, memory:FILE or nats://, not memory::memory:', {
        field: 'bus',
      }),
    );
  if (errors.length) throw new FlowtapError(errors);
  return b;
}

/** Records are context, not the deployment: a store that refuses them is reported, and the command goes on. */
async function appendRecords(io: Io, broker: Broker | null, records: BrokerRecord[]): Promise<void> {
  if (!broker || records.length === 0) return;
  try {
    await broker.store.append(records);
  } catch (e) {
    io.err(`flowtap: warning: ${records.length} records (topology, lifecycle) were not stored: ${(e as Error).message}`);
  }
  // A controller serving the deployment follows changes made outside it.
  for (const r of records.filter((x) => x.kind === 'lifecycle'))
    await broker.bus.publish(lifecycleSubject(r.tenant, r.app), r).catch(() => undefined);
}

/** The broker a deployment records to; null (with a warning) when it cannot be opened. */
async function recordingBroker(io: Io, addresses: BrokerAddresses | undefined): Promise<Broker | null> {
  if (!addresses) return null;
  const b = await openBroker({ ...addresses });
  if (b.ok) return b.value;
  io.err(`flowtap: warning: lifecycle records are not stored: ${b.errors.map((e) => e.message).join('; ')}`);
  return null;
}

export async function cmdUp(io: Io, appArg: string, o: UpOptions, env: CloudEnv = {}): Promise<number> {
  if (o.inlineWorkers !== undefined && o.inlineWorkers > 1 && o.inlineMode !== 'queue')
    throw new FlowtapError(diag(CliCode.OPTION, '--inline-workers needs --inline-mode queue', { field: '--inline-workers' }));
  const descriptor = resolve(resolveAppPath(appArg));
  const app = need(loadApp(descriptor));
  const spec: DeploymentSpec = {
    descriptor,
    policies: o.policy.map((p) => resolve(p)),
    mode: o.mode,
    strategy: o.strategy,
    downMonitors: [],
    broker: brokerFor(o, env),
    agents: { level: o.level ?? 1, periodMs: o.periodMs ?? 5000 },
    ...(o.controller ? { controller: { rules: checkedRules(o.controller.rules, app), dryRun: o.controller.dryRun } } : {}),
    ...(o.inlineMode === 'queue' ? { inlineMode: 'queue' as const } : {}),
    ...(o.inlineWorkers !== undefined && o.inlineWorkers > 1 ? { inlineWorkers: o.inlineWorkers } : {}),
    ...(o.dataplane ? { dataplane: o.dataplane } : {}),
  };
  // Opened first: a broker that cannot be reached stops `up` before anything is built.
  const broker = need(await openBroker({ ...spec.broker! }));
  const started = new Date().toISOString();
  const records: BrokerRecord[] = [];
  let cloud: Orchestrator;
  try {
    cloud = await driver(io, { ...env, onEvent: (e) => records.push(lifecycleRecord(app.tenant, app.name, e)) }).up(spec, prepare);
  } catch (e) {
    const already = e instanceof FlowtapError && e.diagnostics.some((d) => d.code === OrchestratorCode.ALREADY_UP);
    if (!already) {
      const detail = e instanceof FlowtapError ? e.diagnostics.map((d) => d.message).join('; ') : String(e);
      records.push(lifecycleRecord(app.tenant, app.name, { type: 'up-failed', ts: new Date().toISOString(), detail }));
      await appendRecords(io, broker, records);
    }
    await broker.close();
    throw e;
  }
  const ctx = cloud.context();
  const dep = prepareDeployment(descriptor, { policies: spec.policies, mode: spec.mode, strategy: spec.strategy }, ctx.addressing);
  await appendRecords(io, broker, [
    lifecycleRecord(ctx.tenant, ctx.app, { type: 'up', ts: started }, { spec: cloud.spec() }),
    ...records,
    ...topologyRecords(dep, Date.now()),
  ]);
  await broker.close();
  const a = cloud.spec().agents!;
  if (o.json) io.out(JSON.stringify({ ...ctx, spec: cloud.spec() }, null, 2));
  else {
    io.out(`${ctx.app} is up; \`flowtap status ${ctx.app}\` shows it, \`flowtap down ${ctx.app}\` removes it`);
    io.out(
      `agents at level ${a.level}, every ${a.periodMs / 1000} s, ship to ${spec.broker!.store} (bus ${spec.broker!.bus}); \`flowtap records ${ctx.app}\` shows what they collect, \`flowtap verbosity ${ctx.app} LEVEL\` changes it`,
    );
  }
  return EXIT_OK;
}

/** The reaction rules `up --controller` starts with, checked before anything is built. */
function checkedRules(file: string, app: App): string {
  if (!file) throw new FlowtapError(diag(CliCode.USAGE, '--controller needs --rules FILE (reaction rules)', { field: 'rules' }));
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FlowtapError(diag(CliCode.NO_FILE, `cannot read the reaction rules: ${(e as Error).message}`, { file }));
  }
  need(loadReactionProgram(text, file, modelFacts(app)));
  return resolve(file);
}

export async function cmdDown(io: Io, appArg: string, json: boolean, env: CloudEnv = {}): Promise<number> {
  const name = appNameOf(appArg);
  // Where the deployment recorded to, if it can still be read; down goes on without it.
  let recorded: { tenant: string; broker?: BrokerAddresses } | null = null;
  try {
    const cloud = await driver(io, env).attach(name, prepare);
    recorded = { tenant: cloud.context().tenant, broker: cloud.spec().broker };
  } catch {
    recorded = null;
  }
  const r = await driver(io, env).down(name);
  if (recorded?.broker) {
    const broker = await recordingBroker(io, recorded.broker);
    await appendRecords(io, broker, [
      lifecycleRecord(
        recorded.tenant,
        name,
        { type: 'down', ts: new Date().toISOString() },
        { namespaces: r.namespaces.length, processes: r.processes },
      ),
    ]);
    await broker?.close();
  }
  if (json) io.out(JSON.stringify(r, null, 2));
  else io.out(`${name}: removed ${r.namespaces.length} namespaces, stopped ${r.processes} processes`);
  return EXIT_OK;
}

interface CounterRow {
  /** `TABLE CHAIN: COMMENT` */
  rule: string;
  packets: number;
  bytes: number;
}

export async function cmdStatus(io: Io, appArg: string, json: boolean, env: CloudEnv = {}): Promise<number> {
  const cloud = await attachCloud(io, appArg, env);
  const status = await cloud.status();
  const ctx = cloud.context();
  const counters: Record<string, CounterRow[]> = {};
  for (const node of Object.keys(ctx.addressing.nodes)) {
    const c = await cloud.counters(node);
    counters[node] = c.ok
      ? c.value
          .filter((x) => x.packets > 0)
          .map((x) => ({ rule: `${x.table} ${x.chain}: ${x.comment}`, packets: x.packets, bytes: x.bytes }))
      : [];
  }
  if (json) {
    io.out(JSON.stringify({ ...status, addressing: ctx.addressing, counters }, null, 2));
    return EXIT_OK;
  }
  printStatus(io, status, counters);
  return EXIT_OK;
}

function printStatus(io: Io, s: DeploymentStatus, counters: Record<string, CounterRow[]>): void {
  io.out(`${s.tenant}/${s.app}: ${s.phase}, ${s.spec.mode} mode, ${s.spec.strategy} monitors, since ${s.since}`);
  if (s.spec.policies.length) io.out(`policies: ${s.spec.policies.join(', ')}`);
  if (s.spec.downMonitors.length) io.out(`monitors marked down: ${s.spec.downMonitors.join(', ')}`);
  io.out(`  ${'instance'.padEnd(20)} ${'node'.padEnd(8)} ${'address'.padEnd(14)} ${'state'.padEnd(10)} ${'health'.padEnd(9)} ports`);
  for (const i of s.instances) {
    const ports = i.ports.map((p) => `${p.port} ${p.open ? 'open' : 'closed'}`).join(', ') || '-';
    const state = i.state === 'isolated' ? 'ISOLATED' : i.state;
    io.out(
      `  ${i.instance.padEnd(20)} ${i.node.padEnd(8)} ${i.ip.padEnd(14)} ${state.padEnd(10)} ${i.health.padEnd(9)} ${ports} (${i.processes} processes)`,
    );
  }
  for (const m of s.monitors) {
    const notices = m.logDir ? readLines(join(m.logDir, 'notice.log')).length : 0;
    io.out(`monitor ${m.monitor.padEnd(14)} ${m.node.padEnd(8)} ${m.health}, ${m.processes} processes, ${notices} notices`);
  }
  if (s.spec.broker) {
    const a = s.spec.agents;
    io.out(
      `broker: store ${s.spec.broker.store}, bus ${s.spec.broker.bus}${a ? `; agents started at level ${a.level}, every ${a.periodMs / 1000} s` : ''}`,
    );
  }
  for (const p of s.processes.filter((x) => x.owner.startsWith('agent:') || x.owner === 'relay' || x.owner === 'controller')) {
    const what =
      p.owner === 'relay'
        ? 'relay to the broker'
        : p.owner === 'controller'
          ? 'security controller'
          : `agent ${p.owner.slice('agent:'.length)}`;
    io.out(`${what.padEnd(22)} ${p.alive ? 'running' : 'DOWN'} (pid ${p.pid}${p.ns ? ` in ${p.ns}` : ' on the host'}), log ${p.log}`);
  }
  for (const [node, list] of Object.entries(counters)) {
    io.out(`data-plane counters on ${node} (rules that matched):`);
    for (const c of list) io.out(`  ${String(c.packets).padStart(8)} pkts ${String(c.bytes).padStart(10)} B  ${c.rule}`);
  }
}

/**
 * A management operation on one instance. With --json, one object: what was done, the
 * lifecycle events it caused and the management context afterwards.
 */
export async function cmdOperation(
  io: Io,
  op: Operation,
  appArg: string,
  instance: string,
  node: string | undefined,
  json: boolean,
  env: CloudEnv = {},
): Promise<number> {
  const { events, cloud } = await operate(
    io,
    appArg,
    json,
    env,
    async (c) => {
      if (op === 'move') {
        if (node === undefined)
          throw new FlowtapError(diag(CliCode.USAGE, 'move needs the node to move the instance to', { field: 'node' }));
        await c.move(instance, node);
      } else await c[op](instance);
    },
    // A move changes the topology: a new snapshot, so the latest one is always the truth.
    (c, seen) => {
      if (op !== 'move' || !seen.some((e) => e.type === 'moved')) return [];
      const spec = c.spec();
      const dep = prepareDeployment(
        spec.descriptor,
        { policies: spec.policies, mode: spec.mode, strategy: spec.strategy },
        c.context().addressing,
      );
      return topologyRecords(dep, Date.now());
    },
  );
  if (json)
    io.out(
      JSON.stringify(
        { ok: true, operation: op, instance, ...(node !== undefined ? { node } : {}), events, context: cloud.context() },
        null,
        2,
      ),
    );
  return EXIT_OK;
}

/** `TS TYPE [INSTANCE] [on NODE][: DETAIL]`: a restriction names no instance, drift only its node. */
function eventLine(e: LifecycleEvent): string {
  const what = [e.instance, e.node ? `on ${e.node}` : undefined].filter(Boolean).join(' ');
  return `${e.ts} ${e.type}${what ? ` ${what}` : ''}${e.detail ? `: ${e.detail}` : ''}`;
}

export interface RestrictOptions {
  source: string;
  id: string;
  port?: string;
  rate?: string;
  burst?: string;
  json: boolean;
}

/** A whole number as typed; the orchestrator checks its range and names the field. */
function wholeNumber(text: string | undefined, field: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,15}$/.test(text)) throw new FlowtapError(diag(CliCode.OPTION, `--${field} "${text}" is not a whole number`, { field }));
  return Number(text);
}

/** The restriction the options describe, or a diagnostic naming the option; ranges are the orchestrator's to check. */
export function restrictionOf(o: RestrictOptions): SourceRestriction {
  if ((o.rate === undefined) !== (o.burst === undefined))
    throw new FlowtapError(
      diag(CliCode.USAGE, '--rate and --burst go together: new connections per second, and how many more at once', {
        field: o.rate === undefined ? 'rate' : 'burst',
      }),
    );
  const port = wholeNumber(o.port, 'port');
  const perSecond = wholeNumber(o.rate, 'rate');
  const burst = wholeNumber(o.burst, 'burst');
  return {
    id: o.id,
    source: o.source,
    ...(port !== undefined ? { port } : {}),
    ...(perSecond !== undefined && burst !== undefined ? { rate: { perSecond, burst } } : {}),
  };
}

/**
 * Runs one management operation on the deployment of APP: its lifecycle events printed (one line
 * each without --json) and recorded in the deployment's broker, with whatever else the operation
 * changes on record (`more`), even when it fails half-way.
 */
async function operate<T>(
  io: Io,
  appArg: string,
  json: boolean,
  env: CloudEnv,
  body: (cloud: Orchestrator) => Promise<T>,
  more: (cloud: Orchestrator, events: LifecycleEvent[]) => BrokerRecord[] = () => [],
): Promise<{ value: T; events: LifecycleEvent[]; cloud: Orchestrator }> {
  const cloud = await attachCloud(io, appArg, env);
  const events: LifecycleEvent[] = [];
  cloud.onEvent((e) => {
    events.push(e);
    if (!json) io.out(eventLine(e));
  });
  const broker = await recordingBroker(io, cloud.spec().broker);
  try {
    return { value: await body(cloud), events, cloud };
  } finally {
    const ctx = cloud.context();
    await appendRecords(io, broker, [...events.map((e) => lifecycleRecord(ctx.tenant, ctx.app, e)), ...more(cloud, events)]);
    await broker?.close();
  }
}

/** `flowtap restrict APP --source CIDR [--port N] [--rate N --burst N] --id ID`. */
export async function cmdRestrict(io: Io, appArg: string, o: RestrictOptions, env: CloudEnv = {}): Promise<number> {
  const r = restrictionOf(o);
  const { events, cloud } = await operate(io, appArg, o.json, env, (c) => c.restrict(r));
  if (o.json) {
    const ctx = cloud.context();
    const applied = ctx.restrictions.find((x) => x.id === r.id);
    io.out(JSON.stringify({ ok: true, operation: 'restrict', restriction: applied, events, context: ctx }, null, 2));
  }
  return EXIT_OK;
}

/** `flowtap unrestrict APP ID`: an id not in force changes nothing (and says so). */
export async function cmdUnrestrict(io: Io, appArg: string, id: string, json: boolean, env: CloudEnv = {}): Promise<number> {
  const { events, cloud } = await operate(io, appArg, json, env, (c) => c.unrestrict(id));
  if (json) io.out(JSON.stringify({ ok: true, operation: 'unrestrict', id, events, context: cloud.context() }, null, 2));
  else if (!events.length) io.out(`no restriction "${id}" in force; nothing changed`);
  return EXIT_OK;
}

/** `flowtap reconcile APP`: each node's drift as found, and the nodes repaired. */
export async function cmdReconcile(io: Io, appArg: string, json: boolean, env: CloudEnv = {}): Promise<number> {
  const { value: drift, events } = await operate(io, appArg, json, env, (c) => c.reconcile());
  if (json) io.out(JSON.stringify({ ok: true, operation: 'reconcile', drift, events }, null, 2));
  else for (const d of drift) io.out(driftLine(d));
  return EXIT_OK;
}

function driftLine(d: Drift): string {
  if (d.inForce) return `${d.node}: in force`;
  const refs = (list: Drift['missing']) => list.map((r) => `${r.table} ${r.chain}: ${r.comment}`).join(', ') || 'none';
  return `${d.node}: repaired; was missing ${refs(d.missing)}; had extra ${refs(d.extra)}${d.reason ? ` (${d.reason})` : ''}`;
}

function readLines(file: string): string[] {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
    : [];
}

/** Notices raised by the running cloud's monitors, oldest first. */
export async function cmdNotices(io: Io, appArg: string, json: boolean, env: CloudEnv = {}): Promise<number> {
  const cloud = await attachCloud(io, appArg, env);
  const status = await cloud.status({ probe: false });
  const all: { monitor: string; n: Record<string, unknown> }[] = [];
  for (const m of status.monitors) {
    if (!m.logDir) continue;
    const file = join(m.logDir, 'notice.log');
    for (const line of readLines(file)) {
      try {
        all.push({ monitor: m.monitor, n: JSON.parse(line) as Record<string, unknown> });
      } catch {
        io.err(`${file}: skipped a line that is not JSON`);
      }
    }
  }
  all.sort((a, b) => Number(a.n.ts) - Number(b.n.ts));
  for (const { monitor, n } of all)
    io.out(
      json
        ? JSON.stringify({ monitor, ...n })
        : `${new Date(Number(n.ts) * 1000).toISOString()} ${monitor} ${n.note} ${n.uid ?? '-'} ${n.msg}`,
    );
  if (!json) io.err(`${all.length} notices`);
  return EXIT_OK;
}
