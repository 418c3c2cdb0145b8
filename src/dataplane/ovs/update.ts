/**
 * The plan of an incremental change on an Open vSwitch bridge: what differs between the
 * configuration applied last and the new one, as one `ovs-ofctl bundle` input plus the meter
 * changes that must go around it.
 *
 * A flow is named by what OpenFlow's strict match names it by (table, priority, match). A flow
 * whose actions change under the same cookie is modified in place (`modify_strict`), so its
 * counter goes on: it is still its rule's flow. One whose cookie changes belongs to another rule
 * now: it is deleted and added again, because an OpenFlow 1.2+ `add` over an existing flow keeps
 * the old counts, and they would be charged to the new rule.
 *
 * Groups travel in the same bundle as the flows (the `bundle` command takes both, atomically):
 * new and changed ones before the flows that use them, unused ones after the flows that used
 * them are gone. Meters cannot join a bundle, so the backend adds new ones and modifies changed
 * ones before it, and deletes unused ones after it (backend.ts undoes the first two if the bundle
 * is refused).
 */
import { flowKey, flowText, ruleKey, type OvsFlow, type OvsObject } from './flows.js';
import type { OvsNodeConfig } from './render.js';

export interface ObjectPlan {
  add: OvsObject[];
  /** Same id, other text: `from` is what to put back if the bundle is refused. */
  modify: Array<{ from: OvsObject; to: OvsObject }>;
  remove: number[];
}

export type OvsUpdatePlan =
  | { kind: 'full'; reason: string }
  | { kind: 'unchanged' }
  | {
      kind: 'incremental';
      /** The `ovs-ofctl bundle` input: `group ...` and `flow ...` lines, in the order they must run. */
      bundle: string;
      meters: ObjectPlan;
      /** Flows the bundle adds or modifies (what `check` has ovs-ofctl parse). */
      sent: OvsFlow[];
      added: number;
      modified: number;
      removed: number;
    };

export function planOvsUpdate(last: OvsNodeConfig | undefined, next: OvsNodeConfig): OvsUpdatePlan {
  if (!last) return { kind: 'full', reason: 'nothing applied on this node yet' };
  if (last.bridge !== next.bridge) return { kind: 'full', reason: `another bridge (${last.bridge} -> ${next.bridge})` };
  const before = new Map(last.flows.map((f) => [flowKey(f), f]));
  const deletes: string[] = [];
  const modifies: string[] = [];
  const adds: string[] = [];
  const sent: OvsFlow[] = [];
  let added = 0;
  let modified = 0;
  let removed = 0;
  const seen = new Set<string>();
  for (const f of next.flows) {
    const key = flowKey(f);
    seen.add(key);
    const old = before.get(key);
    if (!old) {
      adds.push(`flow add ${flowText(f)}`);
      sent.push(f);
      added++;
    } else if (ownerOf(old) !== ownerOf(f)) {
      deletes.push(`flow delete_strict ${key}`);
      adds.push(`flow add ${flowText(f)}`);
      sent.push(f);
      removed++;
      added++;
    } else if (old.actions !== f.actions) {
      modifies.push(`flow modify_strict ${flowText(f)}`);
      sent.push(f);
      modified++;
    }
  }
  for (const [key] of before)
    if (!seen.has(key)) {
      deletes.push(`flow delete_strict ${key}`);
      removed++;
    }
  const groups = diffObjects(last.groups, next.groups);
  const meters = diffObjects(last.meters, next.meters);
  const lines = [
    ...groups.add.map((g) => `group add ${g.text}`),
    ...groups.modify.map((g) => `group modify ${g.to.text}`),
    ...deletes,
    ...modifies,
    ...adds,
    ...groups.remove.map((id) => `group delete group_id=${id}`),
  ];
  if (!lines.length && !meters.add.length && !meters.modify.length && !meters.remove.length) return { kind: 'unchanged' };
  return { kind: 'incremental', bundle: lines.length ? `${lines.join('\n')}\n` : '', meters, sent, added, modified, removed };
}

/** The rule a flow's cookie is made from (its hash is the cookie): compared without hashing. */
const ownerOf = (f: OvsFlow) => (f.rule ? ruleKey(f.rule) : '');

function diffObjects(from: readonly OvsObject[], to: readonly OvsObject[]): ObjectPlan {
  const old = new Map(from.map((o) => [o.id, o]));
  const now = new Set(to.map((o) => o.id));
  const plan: ObjectPlan = { add: [], modify: [], remove: from.filter((o) => !now.has(o.id)).map((o) => o.id) };
  for (const o of to) {
    const was = old.get(o.id);
    if (!was) plan.add.push(o);
    else if (was.text !== o.text) plan.modify.push({ from: was, to: o });
  }
  return plan;
}
