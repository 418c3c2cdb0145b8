/**
 * The context broker of a deployment, as `records` and `verbosity` find it: the addresses its
 * `up` recorded in the spec (or the ones given on the command line), with the deployment's
 * tenant, nodes and instances when it is up.
 */
import { existsSync } from 'node:fs';
import { openBroker, type Broker } from '../broker/index.js';
import { diag, FlowtapError } from '../diagnostics/index.js';
import { deploymentBroker, OrchestratorCode, stateDirOf, type BrokerAddresses } from '../orchestrator/index.js';
import { appNameOf, attachCloud, type CloudEnv } from './attach.js';
import { need, type Io } from './exit.js';

export interface BrokerOverride {
  store?: string;
  bus?: string;
}

export interface DeploymentBroker {
  app: string;
  /** Known when the deployment is up. */
  tenant?: string;
  addresses: BrokerAddresses;
  /** Node -> its instances; empty when the deployment is not up. */
  nodes: Map<string, string[]>;
  /** When the deployment that is up was made (its reactions carry it). */
  since?: string;
}

export async function findDeploymentBroker(io: Io, appArg: string, env: CloudEnv, given: BrokerOverride): Promise<DeploymentBroker> {
  const app = appNameOf(appArg);
  try {
    const cloud = await attachCloud(io, appArg, env);
    const ctx = cloud.context();
    const nodes = new Map<string, string[]>(Object.keys(ctx.addressing.nodes).map((n) => [n, []]));
    for (const a of Object.values(ctx.addressing.instances)) nodes.get(a.node)?.push(a.instance);
    const recorded = cloud.spec().broker;
    const addresses = given.store || given.bus || !recorded ? deploymentBroker(given, stateDirOf(env.stateDir)) : recorded;
    return { app, tenant: ctx.tenant, addresses, nodes, since: (await cloud.status({ probe: false })).since };
  } catch (e) {
    const notUp = e instanceof FlowtapError && e.diagnostics.some((d) => d.code === OrchestratorCode.NOT_UP);
    if (!notUp) throw e;
  }
  // Not up: the records of past deployments stay in the broker they shipped to.
  const addresses = deploymentBroker(given, stateDirOf(env.stateDir));
  if (!given.store && !existsSync(addresses.store.slice('sqlite:'.length)))
    throw new FlowtapError(
      diag(
        OrchestratorCode.NOT_UP,
        `${app} is not up and there is no embedded broker at ${addresses.store}; give --store (and --bus) to read another`,
      ),
    );
  return { app, addresses, nodes: new Map() };
}

export async function openDeploymentBroker(d: DeploymentBroker): Promise<Broker> {
  return need(await openBroker({ ...d.addresses }));
}
