/** `flowtap up | down | status | isolate | release | terminate | redeploy | move`: the local cloud. */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

function readLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('#')) : [];
}
import { prepareDeployment } from '../controller/index.js';
import type { FlowTap } from '../flowtap/index.js';
import { readCounters } from '../dataplane/index.js';
import { diag, FlowtapError } from '../diagnostics/index.js';
import { appRunDir, downCloud, isAlive, LocalCloud, loadState, nodeNs, systemRunner } from '../orchestrator/index.js';
import { EXIT_OK, type Io } from './exit.js';
import { resolveAppPath } from './load.js';

export interface UpOptions {
  policy: string[];
  mode: string;
  strategy: string;
  json: boolean;
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
      '--iface', 'any',
      '--app', m.descriptor,
      '--addressing', m.addressing,
      '--log-dir', m.logDir,
      '--format', 'json',
      `--observes=${observes}`,
      ...(inline ? ['--inline'] : []),
    ];
  };
}

function projectRoot(): string {
  // bin/flowtap.js runs from the package; processes start in the project root.
  return resolve(new URL('../../..', import.meta.url).pathname);
}

function checkMode(mode: string): 'enforce' | 'audit' {
  if (mode !== 'enforce' && mode !== 'audit')
    throw new FlowtapError(diag('E_CLI_OPTION', `--mode must be enforce or audit, not "${mode}"`, { field: '--mode' }));
  return mode;
}

function checkStrategy(s: string): 'per-app' | 'per-node' {
  if (s !== 'per-app' && s !== 'per-node')
    throw new FlowtapError(diag('E_CLI_OPTION', `--strategy must be per-app or per-node, not "${s}"`, { field: '--strategy' }));
  return s;
}

export async function cmdUp(io: Io, appArg: string, o: UpOptions): Promise<number> {
  const file = resolveAppPath(appArg);
  const mode = checkMode(o.mode);
  const dep = prepareDeployment(file, { policies: o.policy, mode, strategy: checkStrategy(o.strategy) });
  io.err(`flowtap: bringing up ${dep.app.tenant}/${dep.app.name}: ${dep.app.nodes.length} nodes, ${dep.app.instances.length} instances, ` +
    `${dep.ruleset.rules.length} firewall rules, ${dep.contracts.length} tap contracts (${mode})`);
  const cloud = await LocalCloud.up(dep.app, dep.addressing, resolve(file), {
    dataplane: dep.dataplane,
    root: projectRoot(),
    mode,
    policies: o.policy.map((p) => resolve(p)),
    progress: (line) => io.err(`  ${line}`),
    monitorCommand: monitorCommandFor(dep.contracts),
  });
  const ctx = cloud.context();
  if (o.json) io.out(JSON.stringify(ctx, null, 2));
  else io.out(`${dep.app.name} is up; \`flowtap status ${dep.app.name}\` shows it, \`flowtap down ${dep.app.name}\` removes it`);
  return EXIT_OK;
}

/** APP may be a descriptor/folder or the application's name. */
export function appNameOf(arg: string): string {
  if (existsSync(arg)) {
    const dep = prepareDeployment(resolveAppPath(arg), { policies: [], mode: 'enforce' });
    return dep.app.name;
  }
  return arg;
}

export async function cmdDown(io: Io, appArg: string, json: boolean): Promise<number> {
  const name = appNameOf(appArg);
  const r = await downCloud(name);
  if (json) io.out(JSON.stringify(r, null, 2));
  else io.out(`${name}: removed ${r.namespaces.length} namespaces, stopped ${r.processes} processes`);
  return EXIT_OK;
}

export async function cmdStatus(io: Io, appArg: string, json: boolean): Promise<number> {
  const name = appNameOf(appArg);
  const state = loadState(name);
  if (!state) throw new FlowtapError(diag('E_NOT_UP', `${name} is not up`));
  const processes = state.processes.map((p) => ({ ...p, alive: isAlive(p.pid) }));
  const counters: Record<string, { rule: string; packets: number; bytes: number }[]> = {};
  const nodes = Object.keys(state.addressing.nodes);
  for (const node of nodes) {
    const c = await readCounters(systemRunner, nodeNs(name, node), { family: 'inet', name: 'flowtap' });
    counters[node] = c.ok ? c.value.filter((x) => x.packets > 0).map((x) => ({ rule: `${x.chain}: ${x.comment}`, packets: x.packets, bytes: x.bytes })) : [];
  }
  if (json) {
    io.out(JSON.stringify({ ...state, processes, counters }, null, 2));
    return EXIT_OK;
  }
  io.out(`${state.tenant}/${state.app}: ${state.phase}, ${state.mode} mode, since ${state.createdAt}`);
  io.out(`namespaces: ${state.namespaces.length}`);
  for (const [inst, at] of Object.entries(state.addressing.instances)) {
    const flag = state.terminated.includes(inst) ? ' terminated' : state.isolated.includes(inst) ? ' ISOLATED' : '';
    const procs = processes.filter((p) => p.owner === inst).map((p) => `pid ${p.pid} ${p.alive ? 'alive' : 'exited'}`);
    io.out(`  ${inst.padEnd(20)} ${at.node.padEnd(8)} ${at.ip.padEnd(14)} ${at.port.padEnd(6)}${flag} ${procs.join(', ')}`);
  }
  for (const m of processes.filter((p) => p.owner.startsWith('monitor:'))) {
    const name = m.owner.slice('monitor:'.length);
    const notices = readLines(join(appRunDir(state.app), name, 'notice.log'));
    io.out(`monitor ${name.padEnd(14)} pid ${m.pid} ${m.alive ? 'alive' : 'exited'}, ${notices.length} notices`);
  }
  for (const [node, list] of Object.entries(counters)) {
    io.out(`firewall counters on ${node} (rules that matched):`);
    for (const c of list) io.out(`  ${String(c.packets).padStart(8)} pkts ${String(c.bytes).padStart(10)} B  ${c.rule}`);
  }
  return EXIT_OK;
}

export async function attachCloud(io: Io, appArg: string): Promise<LocalCloud> {
  const name = appNameOf(appArg);
  const state = loadState(name);
  if (!state) throw new FlowtapError(diag('E_NOT_UP', `${name} is not up`));
  const dep = prepareDeployment(state.descriptor, { policies: state.policies, mode: state.mode }, state.addressing);
  return LocalCloud.attach(dep.app, { dataplane: dep.dataplane, root: projectRoot(), progress: (l) => io.err(`  ${l}`), monitorCommand: monitorCommandFor(dep.contracts) });
}

export async function cmdOperation(io: Io, op: 'isolate' | 'release' | 'terminate' | 'redeploy' | 'move', appArg: string, instance: string, node?: string): Promise<number> {
  const cloud = await attachCloud(io, appArg);
  cloud.onEvent((e) => io.out(`${e.ts} ${e.type} ${e.instance} on ${e.node}${e.detail ? `: ${e.detail}` : ''}`));
  if (op === 'move') await cloud.move(instance, node!);
  else await cloud[op](instance);
  return EXIT_OK;
}

/** Notices raised by the running cloud's monitors, oldest first. */
export function cmdNotices(io: Io, appArg: string, json: boolean): number {
  const name = appNameOf(appArg);
  const state = loadState(name);
  if (!state) throw new FlowtapError(diag('E_NOT_UP', `${name} is not up`));
  const all: { monitor: string; n: Record<string, unknown> }[] = [];
  for (const p of state.processes.filter((x) => x.owner.startsWith('monitor:'))) {
    const monitor = p.owner.slice('monitor:'.length);
    for (const line of readLines(join(appRunDir(name), monitor, 'notice.log'))) {
      try {
        all.push({ monitor, n: JSON.parse(line) as Record<string, unknown> });
      } catch {
        io.err(`${join(appRunDir(name), monitor, 'notice.log')}: skipped a line that is not JSON`);
      }
    }
  }
  all.sort((a, b) => Number(a.n.ts) - Number(b.n.ts));
  for (const { monitor, n } of all)
    io.out(json ? JSON.stringify({ monitor, ...n }) : `${new Date(Number(n.ts) * 1000).toISOString()} ${monitor} ${n.note} ${n.uid ?? '-'} ${n.msg}`);
  if (!json) io.err(`${all.length} notices`);
  return EXIT_OK;
}
