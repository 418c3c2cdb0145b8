/**
 * How the commands reach a deployment: the orchestrator (the local cloud), and the spec renderer
 * that `up` and every later attach share, so nothing falls back to a default.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareDeployment } from '../controller/index.js';
import type { FlowTap } from '../flowtap/index.js';
import { loadApp } from '../model/index.js';
import { FlowtapError } from '../diagnostics/index.js';
import {
  localCloud,
  type DeploymentSpec,
  type LocalCloudEnv,
  type MonitorSetup,
  type Orchestrator,
  type OrchestratorDriver,
  type Prepare,
} from '../orchestrator/index.js';
import { need, type Io } from './exit.js';
import { resolveAppPath } from './load.js';

/** Where the commands deploy: tests give a recording system and a state folder of their own. */
export type CloudEnv = Pick<LocalCloudEnv, 'system' | 'stateDir' | 'monitorSettleMs' | 'readyTimeout' | 'nftSessions'>;

export function projectRoot(): string {
  // bin/flowtap.js runs from the package; processes start in the project root.
  return resolve(new URL('../../..', import.meta.url).pathname);
}

export function driver(io: Io, env: CloudEnv & Pick<LocalCloudEnv, 'onEvent'>): OrchestratorDriver {
  return localCloud({ ...env, root: projectRoot(), progress: (line) => io.err(`  ${line}`) });
}

/**
 * `flowtap ARGS...` from the same build as this process: the agents and the relay read what
 * this `up` wrote, so they must be the same flowtap, whatever dist/ holds by then.
 */
function flowtapArgv(...args: string[]): string[] {
  return [process.execPath, fileURLToPath(new URL('./entry.js', import.meta.url)), ...args];
}

/**
 * Every monitor runs `flowtap monitor` on all its interfaces (its port and its tap tunnel).
 * `--inline` alone is the hold mode, so the argv of a hold deployment is what it always was.
 */
function monitorCommandFor(contracts: FlowTap[], inlineMode: DeploymentSpec['inlineMode'], workers = 1) {
  return (m: { monitor: string; descriptor: string; addressing: string; logDir: string }) => {
    // A monitor can attribute requests only of instances whose incoming traffic it is tapped for.
    const observes = [...new Set(contracts.filter((c) => c.dst === m.monitor).map((c) => c.src))].join(',');
    // A redirect target stands in the path; without --inline it would only ever fall back to the failMode.
    const inline = contracts.some((c) => c.dst === m.monitor && c.action === 'redirect');
    // A queue monitor binds the queues this build's namespace setup steers into, so it is this
    // build (like the agents); a hold monitor runs as it always has.
    const program = inline && inlineMode === 'queue' ? flowtapArgv() : [process.execPath, resolve(projectRoot(), 'bin/flowtap.js')];
    return [
      ...program,
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
      ...(inline ? [inlineMode === 'queue' ? '--inline=queue' : '--inline'] : []),
      ...(inline && inlineMode === 'queue' && workers > 1 ? ['--workers', String(workers)] : []),
    ];
  };
}

/**
 * The queue mode's steering in a new monitor namespace, so each redirect's failMode holds before
 * its monitor runs; with several workers, to the ranges of queues they bind.
 */
const queueMonitorSetup =
  (workers: number): MonitorSetup =>
  async ({ ns, tunnels }) => {
    // Loaded only here: the monitor's modules would slow every command that attaches.
    const { queueSetupCommands } = await import('../monitor/index.js');
    const c = queueSetupCommands(ns, { tunnels, ...(workers > 1 ? { workers } : {}) });
    // Only names of our own making go in (the namespace, fixed interface names): a refusal is a bug here.
    if (!Array.isArray(c)) throw new FlowtapError(c);
    return c;
  };

/** The controller renders a spec; the same function serves `up` and every later attach, so nothing falls back to a default. */
export const prepare: Prepare = (spec, addressing) => {
  const dep = prepareDeployment(
    spec.descriptor,
    {
      policies: spec.policies,
      mode: spec.mode,
      strategy: spec.strategy,
      downMonitors: spec.downMonitors,
      sampledMonitors: spec.sampledMonitors,
    },
    addressing,
  );
  return {
    app: dep.app,
    addressing: dep.addressing,
    desired: dep.desired,
    monitorCommand: monitorCommandFor(dep.contracts, spec.inlineMode, spec.inlineWorkers),
    ...(spec.inlineMode === 'queue' ? { monitorSetup: queueMonitorSetup(spec.inlineWorkers ?? 1) } : {}),
    agentCommand: ({ specFile }) => flowtapArgv('agent', '--spec', specFile),
    relayCommand: (routes) => flowtapArgv('relay', ...routes.flatMap((r) => ['--route', `${r.socket}=${r.host}:${r.port}`])),
    controllerCommand: ({ app, settings }) =>
      flowtapArgv('serve', app, '--rules', settings.rules, ...(settings.dryRun ? ['--dry-run'] : [])),
    summary: `${dep.ruleset.rules.length} firewall rules, ${dep.contracts.length} tap contracts`,
  };
};

/** APP may be a descriptor/folder or the application's name. */
export function appNameOf(arg: string): string {
  return existsSync(arg) ? need(loadApp(resolveAppPath(arg))).name : arg;
}

/** The deployment of APP, rendered from the spec recorded at its `up`. */
export async function attachCloud(io: Io, appArg: string, env: CloudEnv = {}): Promise<Orchestrator> {
  return driver(io, env).attach(appNameOf(appArg), prepare);
}
