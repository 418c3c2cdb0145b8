/**
 * Confirmation through the data plane: which counting rules in force carry out an action (read
 * back from the kernel with their handles), and whether the offending flow stopped — its drops
 * counted by those rules while no further notice about the same source arrives.
 */
import type { RuleCounter } from '../dataplane/index.js';
import type { NodeReports, Orchestrator } from '../orchestrator/index.js';
import { restrictionId, type Action, type InstalledRule } from './reaction/index.js';

/** Whether a counting rule is one of the action's own. */
function carries(a: Action, c: RuleCounter): boolean {
  if (a.kind === 'quarantine') return c.comment.startsWith('quarantine');
  if (a.kind === 'restrict') return c.comment === `restrict ${restrictionId(a)}`;
  return false;
}

/** The nodes whose rules carry the action: an instance's node, or every node for a source restriction. */
function nodesOf(o: Orchestrator, a: Action): string[] {
  if (a.kind === 'restrict') return o.app.nodes.map((n) => n.name);
  if (a.kind === 'quarantine') {
    const at = o.context().addressing.instances[a.instance];
    return at ? [at.node] : [];
  }
  return [];
}

/**
 * The action's rules in force, read back now. Empty for actions that install no rule of their
 * own (verbosity, redeploy, a redirect whose taps the monitor's own records confirm).
 *
 * Right after the apply, `applied` may already hold them: where the data plane answered with the
 * rules the transaction added (`ApplyReport.installed`: nft's echo, or the rules of a transaction
 * nft accepted whole), a node whose answer holds the action's rules is not listed again, so the
 * reaction's path holds no listing. Its rules are then exactly those this change added (a
 * listing finds every quarantine rule of the node), possibly without handles: the confirmation
 * lists them, handles included.
 */
export async function installedRules(o: Orchestrator, a: Action, applied?: NodeReports): Promise<InstalledRule[]> {
  const out: InstalledRule[] = [];
  for (const node of nodesOf(o, a)) {
    const answered = (applied?.[node]?.installed ?? []).filter((c) => carries(a, c));
    const counters = answered.length ? { ok: true as const, value: answered } : await o.counters(node);
    if (!counters.ok) continue;
    for (const c of counters.value)
      if (carries(a, c))
        out.push({
          node,
          table: c.table,
          chain: c.chain,
          comment: c.comment,
          ...(c.handle !== undefined ? { handle: c.handle } : {}),
          packets: c.packets,
        });
  }
  return out;
}

/** Whether the action must show rules in force to count as applied. */
export function installsRules(a: Action): boolean {
  return a.kind === 'quarantine' || a.kind === 'restrict';
}

/** A rule in force as records and `flowtap why` show it. */
export function ruleLine(x: InstalledRule): string {
  return `${x.node} ${x.table} ${x.chain} ${x.handle !== undefined ? `handle ${x.handle}` : 'handle not read yet'} "${x.comment}"`;
}

/**
 * Packets the rules have counted since `before` was read: rules matched by node and handle where
 * both sides have one, else by chain and comment (an apply without echo knows no handle; its
 * rules' counters started at zero).
 */
export function dropsSince(before: readonly InstalledRule[], now: readonly InstalledRule[]): number {
  let n = 0;
  for (const r of now) {
    const was = before.find(
      (b) =>
        b.node === r.node &&
        (r.handle !== undefined && b.handle !== undefined ? b.handle === r.handle : b.comment === r.comment && b.chain === r.chain),
    );
    n += Math.max(0, r.packets - (was?.packets ?? 0));
  }
  return n;
}
