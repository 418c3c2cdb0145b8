/**
 * `flowtap serve APP --rules FILE`: the security controller of a running deployment, against
 * the broker its `up` recorded. Runs until SIGTERM or SIGINT; the rules in force stay when it
 * stops (or is killed), and a restart picks up from the broker's records. One controller per
 * application: a second is refused while the first lives.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openBroker } from '../../broker/index.js';
import { controllerPidFile, liveControllerPid, loadReactionProgram, SecurityController } from '../../controller/index.js';
import { diag, FlowtapError } from '../../diagnostics/index.js';
import { modelFacts } from '../../model/index.js';
import { stateDirOf } from '../../orchestrator/index.js';
import { attachCloud, type CloudEnv } from '../attach.js';
import { CliCode } from '../codes.js';
import { EXIT_OK, need, type Io } from '../exit.js';
import { whenAborted } from '../signals.js';

export interface ServeOptions {
  rules: string;
  dryRun?: boolean;
  /** Reactions per minute before the rest wait for an operator. */
  maxPerMinute?: number;
  /** Seconds after an apply by which the offending flow must have stopped. */
  confirmWindow?: number;
}

/** The pid file that keeps a second controller off the same application. */
function claim(stateDir: string, app: string): string {
  const file = controllerPidFile(stateDir, app);
  mkdirSync(dirname(file), { recursive: true });
  const pid = liveControllerPid(file);
  if (pid !== null && pid !== process.pid)
    throw new FlowtapError(diag('E_CONTROLLER', `a controller (pid ${pid}) already serves ${app}; stop it first`, { file }));
  writeFileSync(file, `${process.pid}\n`);
  return file;
}

/** When the deployment recorded in the state file was made; null when there is none. */
function deploymentCreated(file: string): string | null {
  try {
    return String((JSON.parse(readFileSync(file, 'utf8')) as { createdAt?: unknown }).createdAt ?? '');
  } catch {
    return null;
  }
}

export async function cmdServe(io: Io, appArg: string, o: ServeOptions, stop: AbortSignal, env: CloudEnv = {}): Promise<number> {
  let text: string;
  try {
    text = readFileSync(o.rules, 'utf8');
  } catch (e) {
    throw new FlowtapError(diag(CliCode.NO_FILE, `cannot read the reaction rules: ${(e as Error).message}`, { file: o.rules }));
  }
  const cloud = await attachCloud(io, appArg, env);
  const ctx = cloud.context();
  const program = need(loadReactionProgram(text, o.rules, modelFacts(cloud.app, ctx.addressing)));
  const addresses = cloud.spec().broker;
  if (!addresses)
    throw new FlowtapError(diag('E_CONTROLLER', `${ctx.app} was deployed without a broker: the controller has no notices to follow`));
  const dir = join(stateDirOf(env.stateDir), ctx.app, 'controller');
  const pidFile = claim(stateDirOf(env.stateDir), ctx.app);
  const broker = need(await openBroker({ ...addresses }));
  const controller = new SecurityController({
    orchestrator: cloud,
    broker,
    program,
    dryRun: o.dryRun === true,
    // The deployment and every reconfigure go through the node agents and are verified by the probe.
    workflows: true,
    ...(o.maxPerMinute !== undefined ? { maxPerMinute: o.maxPerMinute } : {}),
    ...(o.confirmWindow !== undefined ? { confirmWindowMs: o.confirmWindow * 1000 } : {}),
    workDir: dir,
    log: (line) => io.err(`flowtap serve: ${line}`),
  });
  // A controller outlives nothing it serves: once its deployment is taken down (or replaced by a
  // new one of the same name) it stops, rather than act on namespaces that are no longer its own.
  const stateFile = join(stateDirOf(env.stateDir), `${ctx.app}.json`);
  const createdAt = deploymentCreated(stateFile);
  const gone = new AbortController();
  const watch = setInterval(() => {
    if (deploymentCreated(stateFile) !== createdAt) {
      io.err(`flowtap serve: ${ctx.app} was taken down or deployed anew; stopping`);
      gone.abort();
    }
  }, 1000);
  try {
    await controller.start();
    await Promise.race([whenAborted(stop), whenAborted(gone.signal)]);
  } finally {
    clearInterval(watch);
    await controller.stop();
    await broker.close();
    rmSync(pidFile, { force: true });
  }
  const s = controller.stats;
  io.err(
    `flowtap serve: stopped after ${s.notices} notice(s), ${s.reactions} reaction(s), ${s.unanswered} unanswered, ${s.malformed} malformed`,
  );
  return EXIT_OK;
}
