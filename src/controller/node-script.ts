/**
 * The desired data plane of one node, from the deployment and the current management context
 * (what a data-plane backend renders and applies), and, for tools that show or check a whole
 * node at once, its nft script replacing both tables in one transaction.
 */
import { fullScript, renderNodeConfig, type NodeContext, type NodeDesired } from '../dataplane/index.js';
import type { Result } from '../diagnostics/index.js';
import type { Ruleset } from '../firewall/index.js';
import type { FlowTap } from '../flowtap/index.js';
import type { App } from '../model/index.js';

export interface NodeScriptInput {
  app: App;
  ruleset: Ruleset;
  contracts: readonly FlowTap[];
  mode: 'enforce' | 'audit';
  downMonitors?: readonly string[];
}

export function nodeDesired(input: NodeScriptInput, node: string, ctx: NodeContext): NodeDesired {
  return {
    node,
    app: input.app,
    ruleset: input.ruleset,
    contracts: input.contracts,
    mode: input.mode,
    downMonitors: input.downMonitors ?? [],
    context: { addressing: ctx.addressing, status: ctx.status, ...(ctx.restrictions ? { restrictions: ctx.restrictions } : {}) },
  };
}

/** The node's whole configuration as one atomic `nft -f` script; fails with the renderers' diagnostics. */
export function nodeScript(input: NodeScriptInput, node: string, ctx: NodeContext): Result<string> {
  const config = renderNodeConfig(nodeDesired(input, node, ctx));
  return config.ok ? { ok: true, value: fullScript(config.value) } : config;
}
