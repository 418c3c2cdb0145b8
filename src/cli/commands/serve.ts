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
import { attachCloud, projectRoot, type CloudEnv } from '../attach.js';
import { LocalFleet, startApiServer, tokenFile, type ApiServer } from '../../api/index.js';
import { CliCode } from '../codes.js';
import { EXIT_OK, need, type Io } from '../exit.js';
import { whenAborted } from '../signals.js';

export interface ServeOptions {
  /** The reaction rules of APP's controller. */
  rules?: string;
  /** Serve the API, the metrics and the dashboard here (HOST:PORT). */
  listen?: string;
  dryRun?: boolean;
  /** Reactions per minute before the rest wait for an operator. */
  maxPerMinute?: number;
  /** Seconds after an apply by which the offending flow must have stopped. */
  confirmWindow?: number;
  /** APP is on the Kubernetes cluster this kubeconfig names (serve-kubernetes.ts). */
  kubeconfig?: string;
  /** With --kubeconfig: the broker's store. */
  store?: string;
  /** With --kubeconfig: seconds to wait for the API server's first lists. */
  connectTimeout?: number;
  json?: boolean;
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

/**
 * `flowtap serve [APP --rules FILE] [--listen HOST:PORT]`: APP's security controller, the API
 * (with the metrics and the dashboard) over every deployment of the state folder, or both in one
 * process. The API starts with no deployment as well; deployments come and go while it runs.
 */
export async function cmdServe(
  io: Io,
  appArg: string | undefined,
  o: ServeOptions,
  stop: AbortSignal,
  env: CloudEnv = {},
): Promise<number> {
  if (o.kubeconfig) return serveKubernetes(io, appArg, { ...o, kubeconfig: o.kubeconfig }, stop, env);
  for (const [field, given] of [
    ['store', o.store],
    ['connect-timeout', o.connectTimeout],
  ] as const)
    if (given !== undefined)
      throw new FlowtapError(diag(CliCode.USAGE, `--${field} is for an application on a cluster (with --kubeconfig FILE)`, { field }));
  if (appArg && !o.rules)
    throw new FlowtapError(diag(CliCode.USAGE, `the controller of ${appArg} needs --rules FILE (reaction rules)`, { field: 'rules' }));
  if (!appArg && o.rules)
    throw new FlowtapError(
      diag(CliCode.USAGE, '--rules are the reaction rules of an application: name it (serve APP --rules FILE)', { field: 'rules' }),
    );
  if (!appArg && !o.listen)
    throw new FlowtapError(
      diag(CliCode.USAGE, 'nothing to serve: give APP --rules FILE (the controller), --listen HOST:PORT (the API), or both', {
        field: 'listen',
      }),
    );
  const api = o.listen ? await startApi(io, o.listen, env) : null;
  try {
    if (appArg) return await runController(io, appArg, { ...o, rules: o.rules! }, stop, env);
    await whenAborted(stop);
    return EXIT_OK;
  } finally {
    await api?.close();
  }
}

async function serveKubernetes(
  io: Io,
  appArg: string | undefined,
  o: ServeOptions & { kubeconfig: string },
  stop: AbortSignal,
  env: CloudEnv,
): Promise<number> {
  if (!appArg)
    throw new FlowtapError(
      diag(CliCode.USAGE, "serve --kubeconfig FILE needs APP: the flowtap.io/app label of the application's namespace", {
        field: 'kubeconfig',
      }),
    );
  // Reactions follow the notices of flowtap's monitors, and the API serves the local cloud's deployments; neither runs on a cluster.
  for (const [field, given] of [
    ['rules', o.rules],
    ['listen', o.listen],
  ] as const)
    if (given !== undefined)
      throw new FlowtapError(
        diag(CliCode.USAGE, `--${field} is not available with --kubeconfig (no flowtap monitors run on a cluster)`, { field }),
      );
  // Loaded only here: the Kubernetes client is not a cost of the local cloud's controller.
  const { cmdServeKubernetes } = await import('./serve-kubernetes.js');
  return cmdServeKubernetes(
    io,
    appArg,
    {
      kubeconfig: o.kubeconfig,
      json: o.json === true,
      ...(o.store !== undefined ? { store: o.store } : {}),
      ...(o.connectTimeout !== undefined ? { connectTimeout: o.connectTimeout } : {}),
    },
    stop,
    env,
  );
}

async function startApi(io: Io, listen: string, env: CloudEnv): Promise<ApiServer> {
  const stateDir = stateDirOf(env.stateDir);
  const server = await startApiServer({
    fleet: new LocalFleet({ stateDir, attach: (app) => attachCloud(io, app, env) }),
    tokens: tokenFile(stateDir),
    listen,
    webDir: join(projectRoot(), 'web'),
    log: (line) => io.err(`flowtap serve: api: ${line}`),
  });
  io.err(`flowtap serve: API, metrics and dashboard at ${server.url} (tokens: \`flowtap token issue NAME --tenant T\`)`);
  return server;
}

async function runController(
  io: Io,
  appArg: string,
  o: ServeOptions & { rules: string },
  stop: AbortSignal,
  env: CloudEnv,
): Promise<number> {
  let text: string;
  try {
    text = readFileSync(o.rules, 'utf8');
  } catch (e) {
    throw new FlowtapError(diag(CliCode.NO_FILE, `cannot read the reaction rules: ${(e as Error).message}`, { file: o.rules }));
  }
  // Reactions change one node's rules at a time, one after another: one interactive nft per node
  // pays nft's start-up once instead of at every quarantine.
  const cloud = await attachCloud(io, appArg, { ...env, nftSessions: true });
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
    await cloud.close?.();
    await broker.close();
    rmSync(pidFile, { force: true });
  }
  const s = controller.stats;
  io.err(
    `flowtap serve: stopped after ${s.notices} notice(s), ${s.reactions} reaction(s), ${s.unanswered} unanswered, ${s.malformed} malformed`,
  );
  return EXIT_OK;
}
