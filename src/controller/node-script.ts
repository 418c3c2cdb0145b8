/**
 * The whole data-plane configuration of one node, as one atomic nft script: the firewall
 * (inet) and the taps (netdev), both owned by flowtap and replaced together.
 */
import { atomicScript, FIREWALL_TABLE, localMonitorPorts, NODE_UPLINKS, renderNftFirewall, renderNftTaps, TAPS_TABLE, type OwnedTable } from '../dataplane/index.js';
import { FlowtapError } from '../diagnostics/index.js';
import { quarantine, type Ruleset } from '../firewall/index.js';
import type { FlowTap } from '../flowtap/index.js';
import type { App } from '../model/index.js';
import type { ManagementContext } from '../orchestrator/index.js';

export const OWNED_TABLES: OwnedTable[] = [
  { family: 'inet', name: FIREWALL_TABLE },
  { family: 'netdev', name: TAPS_TABLE },
];

export interface NodeScriptInput {
  app: App;
  ruleset: Ruleset;
  contracts: FlowTap[];
  mode: 'enforce' | 'audit';
  downMonitors?: string[];
}

export function nodeScript(input: NodeScriptInput, node: string, ctx: ManagementContext): string {
  const isolated = Object.entries(ctx.status).filter(([, s]) => s === 'isolated').map(([i]) => i);
  const live = new Set(Object.entries(ctx.status).filter(([, s]) => s !== 'terminated').map(([i]) => i));
  const ruleset = quarantine(input.ruleset, isolated);
  // Every monitor namespace of the local cloud has its return veth: redirects are inline.
  const inlineMonitors = localMonitorPorts(ctx.addressing, node);
  const firewall = renderNftFirewall(ruleset, input.app, ctx.addressing, node, { mode: input.mode, uplinks: NODE_UPLINKS, inlineMonitors });
  const taps = renderNftTaps(input.contracts, input.app, ctx.addressing, node, { live, downMonitors: input.downMonitors ?? [], inline: true });
  if (!taps.ok) throw new FlowtapError(taps.errors);
  return atomicScript(OWNED_TABLES, [firewall, taps.value]);
}
