/**
 * The whole data-plane configuration of one node as nftables tables: the firewall (inet) and the
 * taps with their inline return chains (netdev), both owned by flowtap and replaced together.
 */
import { fail, ok, type Diagnostic, type Result } from '../../diagnostics/index.js';
import type { NodeDesired } from '../backend.js';
import { NODE_UPLINKS } from '../node-interfaces.js';
import { atomicScript, type OwnedTable } from './apply.js';
import { FIREWALL_TABLE, nftFirewallTable } from './firewall.js';
import { inlineMonitorPorts } from './inline.js';
import { formatTable, type NftTable } from './table.js';
import { nftTapsTable, TAPS_TABLE } from './taps.js';

/** The tables flowtap owns in every node namespace. */
export const NODE_TABLES: readonly OwnedTable[] = [
  { family: 'inet', name: FIREWALL_TABLE },
  { family: 'netdev', name: TAPS_TABLE },
];

export interface NftNodeConfig {
  node: string;
  tables: NftTable[];
}

export function renderNodeConfig(d: NodeDesired): Result<NftNodeConfig> {
  const { addressing, status } = d.context;
  const isolated = Object.entries(status)
    .filter(([, s]) => s === 'isolated')
    .map(([i]) => i);
  const live = new Set(
    Object.entries(status)
      .filter(([, s]) => s !== 'terminated')
      .map(([i]) => i),
  );
  const inline = d.inline ?? true;
  const errors: Diagnostic[] = [];
  // An isolated instance keeps its chains as they were: its quarantine chain rules drop all of its
  // traffic before they are reached, and a reaction then changes that one small chain only.
  const fw = nftFirewallTable(
    { ...d.ruleset, quarantined: [...new Set([...(d.ruleset.quarantined ?? []), ...isolated])] },
    d.app,
    addressing,
    d.node,
    {
      mode: d.mode,
      uplinks: NODE_UPLINKS,
      // Every monitor namespace of the local cloud has its return veth: redirects are inline.
      inlineMonitors: inline ? inlineMonitorPorts(addressing, d.node, d.contracts) : [],
      restrictions: d.context.restrictions ?? [],
    },
  );
  if (!fw.ok) errors.push(...fw.errors);
  const taps = nftTapsTable(d.contracts, d.app, addressing, d.node, { live, downMonitors: [...(d.downMonitors ?? [])], inline });
  if (!taps.ok) errors.push(...taps.errors);
  if (!fw.ok || !taps.ok) return fail(errors);
  return ok({ node: d.node, tables: [fw.value, taps.value] });
}

/** One `nft -f` script that replaces every table of the configuration at once (counters reset). */
export function fullScript(config: NftNodeConfig): string {
  return atomicScript(
    config.tables.map((t) => ({ family: t.family, name: t.name })),
    config.tables.map(formatTable),
  );
}

/**
 * The devices a configuration sends to on its node (`dup to`, `fwd to`, and the ports of a
 * `fwd to ... map`): nft resolves them when it reads the script and refuses one the node does
 * not have. The devices a netdev chain hooks are not among them: the kernel keeps a chain on a
 * missing device dormant until it appears (Linux 6.16 on; older kernels refuse it).
 * (`iifname`/`oifname` match names and need no device either.)
 */
export function configDevices(tables: readonly NftTable[]): string[] {
  const out = new Set<string>();
  for (const t of tables) {
    if (t.family !== 'netdev') continue;
    for (const c of t.chains)
      for (const r of c.rules) {
        for (const m of r.text.matchAll(/\b(?:dup|fwd) to "([^"]+)"/g)) out.add(m[1]);
        const mapped = /\bfwd to [^"{]*map \{([^}]*)\}/.exec(r.text);
        if (mapped) for (const m of mapped[1].matchAll(/"([^"]+)"/g)) out.add(m[1]);
      }
  }
  return [...out].sort();
}
