/**
 * Everything a deployment needs, computed from the descriptor and the policies only:
 * the inferred firewall, the compiled tap contracts, and the per-node data-plane script.
 * `up`, every management operation and every reaction recompute it the same way, so the
 * rules in force always follow from the model and the current management context.
 */
import { readFileSync } from 'node:fs';
import { diag, FlowtapError } from '../diagnostics/index.js';
import { inferFirewall, type Ruleset } from '../firewall/index.js';
import { compileTaps, type FlowTap, type PolicySource } from '../flowtap/index.js';
import { loadApp, planAddresses, type Addressing, type App } from '../model/index.js';
import type { ManagementContext } from '../orchestrator/index.js';
import { nodeScript } from './node-script.js';

export interface DeploymentOptions {
  policies: string[];
  mode: 'enforce' | 'audit';
  strategy?: 'per-app' | 'per-node';
  downMonitors?: string[];
}

export interface Deployment {
  app: App;
  addressing: Addressing;
  ruleset: Ruleset;
  contracts: FlowTap[];
  dataplane: (node: string, ctx: ManagementContext) => string;
}

export function readPolicies(files: string[]): PolicySource[] {
  return files.map((file) => {
    try {
      return { file, text: readFileSync(file, 'utf8') };
    } catch (e) {
      throw new FlowtapError(diag('E_NO_FILE', `cannot read policy ${file}: ${(e as Error).message}`, { file }));
    }
  });
}

export function prepareDeployment(descriptor: string, opts: DeploymentOptions, addressing?: Addressing): Deployment {
  const loaded = loadApp(descriptor);
  if (!loaded.ok) throw new FlowtapError(loaded.errors);
  const app = loaded.value;
  const addr = addressing ?? planAddresses(app);
  const ruleset = inferFirewall(app);
  let contracts: FlowTap[] = [];
  if (opts.policies.length) {
    const compiled = compileTaps(app, addr, readPolicies(opts.policies), { strategy: opts.strategy });
    if (!compiled.ok) throw new FlowtapError(compiled.errors);
    contracts = compiled.value.contracts;
  }
  const input = { app, ruleset, contracts, mode: opts.mode, downMonitors: opts.downMonitors };
  return { app, addressing: addr, ruleset, contracts, dataplane: (node, ctx) => nodeScript(input, node, ctx) };
}
