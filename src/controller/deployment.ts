/**
 * Everything a deployment needs, computed from the descriptor and the policies only:
 * the inferred firewall, the compiled tap contracts, and each node's desired data plane (which
 * a data-plane backend renders and applies, changing only what differs from what is in force).
 * `up`, every management operation and every reaction recompute it the same way, so the
 * rules in force always follow from the model and the current management context.
 *
 * planDeployment is the core (values in, a Result out); prepareDeployment is its edge for the
 * command line and the local cloud: it reads the files and throws FlowtapError.
 */
import { readFileSync } from 'node:fs';
import type { NodeContext, NodeDesired } from '../dataplane/index.js';
import { diag, fail, FlowtapError, ok, unwrap, type Result } from '../diagnostics/index.js';
import { inferFirewall, type Ruleset } from '../firewall/index.js';
import { compileTaps, type FlowTap, type PolicySource } from '../flowtap/index.js';
import { loadApp, planAddresses, type Addressing, type App } from '../model/index.js';
import { ControllerCode } from './codes.js';
import { nodeDesired } from './node-script.js';

export interface DeploymentOptions {
  policies: string[];
  mode: 'enforce' | 'audit';
  strategy?: 'per-app' | 'per-node';
  downMonitors?: string[];
  /** Monitor -> deliver 1 in N flows of its copies (see DeploymentSpec.sampledMonitors). */
  sampledMonitors?: Record<string, number>;
}

export interface Deployment {
  app: App;
  addressing: Addressing;
  ruleset: Ruleset;
  contracts: FlowTap[];
  /** One node's desired state in the given context: what a data-plane backend renders and applies. */
  desired: (node: string, ctx: NodeContext) => NodeDesired;
}

export function readPolicies(files: string[]): PolicySource[] {
  return files.map((file) => {
    try {
      return { file, text: readFileSync(file, 'utf8') };
    } catch (e) {
      throw new FlowtapError(diag(ControllerCode.NO_FILE, `cannot read policy ${file}: ${(e as Error).message}`, { file }));
    }
  });
}

export interface DeploymentInput {
  app: App;
  policies: PolicySource[];
  mode: 'enforce' | 'audit';
  strategy?: 'per-app' | 'per-node';
  downMonitors?: string[];
  sampledMonitors?: Record<string, number>;
  /** The addressing in force (the local cloud's state); default the model's plan. */
  addressing?: Addressing;
}

function planDeployment(input: DeploymentInput): Result<Deployment> {
  const { app } = input;
  let addressing = input.addressing;
  if (!addressing) {
    const planned = planAddresses(app);
    if (!planned.ok) return planned;
    addressing = planned.value;
  }
  const ruleset = inferFirewall(app);
  let contracts: FlowTap[] = [];
  if (input.policies.length) {
    const compiled = compileTaps(app, addressing, input.policies, { strategy: input.strategy });
    if (!compiled.ok) return fail(compiled.errors);
    contracts = sampled(compiled.value.contracts, input.sampledMonitors ?? {});
  }
  const desired = { app, ruleset, contracts, mode: input.mode, downMonitors: input.downMonitors };
  return ok({ app, addressing, ruleset, contracts, desired: (node, ctx) => nodeDesired(desired, node, ctx) });
}

/**
 * Copies to a sampled monitor carry 1 in N flows (whole conversations, by a symmetric hash, so
 * what the monitor sees still parses); a contract's own sampling is kept, redirects are not
 * sampled (a diverted packet left out would be delivered past the monitor).
 */
function sampled(contracts: FlowTap[], every: Readonly<Record<string, number>>): FlowTap[] {
  return contracts.map((c) => {
    const n = every[c.dst];
    if (n === undefined || c.action !== 'forward' || c.options.sample) return c;
    return { ...c, options: { ...c.options, sample: { every: n, unit: 'flow' } } };
  });
}

export function prepareDeployment(descriptor: string, opts: DeploymentOptions, addressing?: Addressing): Deployment {
  const loaded = loadApp(descriptor);
  if (!loaded.ok) throw new FlowtapError(loaded.errors);
  return unwrap(
    planDeployment({
      app: loaded.value,
      policies: opts.policies.length ? readPolicies(opts.policies) : [],
      mode: opts.mode,
      strategy: opts.strategy,
      downMonitors: opts.downMonitors,
      sampledMonitors: opts.sampledMonitors,
      addressing,
    }),
  );
}
