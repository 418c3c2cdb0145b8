/**
 * `flowtap up | down | status | notices | isolate | release | terminate | redeploy | move`:
 * deployments through the orchestrator interface (the local cloud by default). The
 * deployment is rendered by the controller from the spec the orchestrator recorded at `up`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { prepareDeployment } from '../controller/index.js';
import { diag, FlowtapError } from '../diagnostics/index.js';
import type { FlowTap } from '../flowtap/index.js';
import { loadApp } from '../model/index.js';
import {
  localCloud,
  type DeploymentSpec,
  type DeploymentStatus,
  type LifecycleEvent,
  type LocalCloudEnv,
  type Orchestrator,
  type OrchestratorDriver,
  type Prepare,
} from '../orchestrator/index.js';
import { CliCode } from './codes.js';
import { EXIT_OK, need, type Io } from './exit.js';
import { resolveAppPath } from './load.js';

/** Where the commands deploy: tests give a recording system and a state folder of their own. */
export type CloudEnv = Pick<LocalCloudEnv, 'system' | 'stateDir' | 'monitorSettleMs'>;

export interface UpOptions {
  policy: string[];
  mode: DeploymentSpec['mode'];
  strategy: DeploymentSpec['strategy'];
  json: boolean;
}

export type Operation = 'isolate' | 'release' | 'terminate' | 'redeploy' | 'move';

function projectRoot(): string {
  // bin/flowtap.js runs from the package; processes start in the project root.
  return resolve(new URL('../../..', import.meta.url).pathname);
}

function driver(io: Io, env: CloudEnv): OrchestratorDriver {
  return localCloud({ ...env, root: projectRoot(), progress: (line) => io.err(`  ${line}`) });
}

/** Every monitor runs `flowtap monitor` on all its interfaces (its port and its tap tunnel). */
function monitorCommandFor(contracts: FlowTap[]) {
  return (m: { monitor: string; descriptor: string; addressing: string; logDir: string }) => {
    // A monitor can attribute requests only of instances whose incoming traffic it is tapped for.
    const observes = [...new Set(contracts.filter((c) => c.dst === m.monitor).map((c) => c.src))].join(',');
    // A redirect target stands in the path; without --inline it would only ever fall back to the failMode.
    const inline = contracts.some((c) => c.dst === m.monitor && c.action === 'redirect');
    return [
      process.execPath,
      resolve(projectRoot(), 'bin/flowtap.js'),
      'monitor',
      '--iface',
      'any',
      '--app',
      m.descriptor,
      '--addressing',
      m.addressing,
      '--log-dir',
      m.logDir,
      '--format',
      'json',
      `--observes=${observes}`,
      ...(inline ? ['--inline'] : []),
    ];
  };
}

/** The controller renders a spec; the same function serves `up` and every later attach, so nothing falls back to a default. */
export const prepare: Prepare = (spec, addressing) => {
  const dep = prepareDeployment(
    spec.descriptor,
    { policies: spec.policies, mode: spec.mode, strategy: spec.strategy, downMonitors: spec.downMonitors },
    addressing,
  );
  return {
    app: dep.app,
    addressing: dep.addressing,
    desired: dep.desired,
    monitorCommand: monitorCommandFor(dep.contracts),
    summary: `${dep.ruleset.rules.length} firewall rules, ${dep.contracts.length} tap contracts`,
  };
};

export async function cmdUp(io: Io, appArg: string, o: UpOptions, env: CloudEnv = {}): Promise<number> {
  const spec: DeploymentSpec = {
    descriptor: resolve(resolveAppPath(appArg)),
    policies: o.policy.map((p) => resolve(p)),
    mode: o.mode,
    strategy: o.strategy,
    downMonitors: [],
  };
  const cloud = await driver(io, env).up(spec, prepare);
  const ctx = cloud.context();
  if (o.json) io.out(JSON.stringify({ ...ctx, spec: cloud.spec() }, null, 2));
  else io.out(`${ctx.app} is up; \`flowtap status ${ctx.app}\` shows it, \`flowtap down ${ctx.app}\` removes it`);
  return EXIT_OK;
}

/** APP may be a descriptor/folder or the application's name. */
export function appNameOf(arg: string): string {
  return existsSync(arg) ? need(loadApp(resolveAppPath(arg))).name : arg;
}

/** The deployment of APP, rendered from the spec recorded at its `up`. */
export async function attachCloud(io: Io, appArg: string, env: CloudEnv = {}): Promise<Orchestrator> {
  return driver(io, env).attach(appNameOf(appArg), prepare);
}

export async function cmdDown(io: Io, appArg: string, json: boolean, env: CloudEnv = {}): Promise<number> {
  const name = appNameOf(appArg);
  const r = await driver(io, env).down(name);
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
  const cloud = await attachCloud(io, appArg, env);
  const events: LifecycleEvent[] = [];
  cloud.onEvent((e) => {
    events.push(e);
    if (!json) io.out(`${e.ts} ${e.type} ${e.instance} on ${e.node}${e.detail ? `: ${e.detail}` : ''}`);
  });
  if (op === 'move') {
    if (node === undefined) throw new FlowtapError(diag(CliCode.USAGE, 'move needs the node to move the instance to', { field: 'node' }));
    await cloud.move(instance, node);
  } else await cloud[op](instance);
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
