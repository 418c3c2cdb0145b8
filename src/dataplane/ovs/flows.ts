/**
 * Flows as flowtap renders them for Open vSwitch, and what they are named by. A flow that
 * counts carries the cookie of its rule's identity (table, chain, comment: the names the
 * nftables backend gives the same rule), so counters read back by cookie name rules as nft
 * comments do; several flows may share one (a port range, a set of addresses). Pipeline flows
 * carry PIPELINE_COOKIE and are not reported.
 */
import { createHash } from 'node:crypto';
import type { RuleRef } from '../backend.js';

export const PIPELINE_COOKIE = '0xf700000000000000';

export interface OvsFlow {
  table: number;
  priority: number;
  /** The match in ovs-ofctl syntax, '' for every packet. */
  match: string;
  actions: string;
  /** The rule this flow implements; none for the pipeline's own flows. */
  rule?: RuleRef;
}

/** A meter or group flowtap owns, as `add-meter` / `add-group` take it. */
export interface OvsObject {
  id: number;
  text: string;
  /** The rule whose drops the meter counts (a rate restriction), if its band counts are a rule's counter. */
  rule?: RuleRef;
}

export const ruleKey = (r: RuleRef) => `${r.table}|${r.chain}|${r.comment}`;

/** The cookie of a rule: 0xf7 and 56 bits of a hash of its identity (never the pipeline's). */
export function cookieOf(r: RuleRef | undefined): string {
  if (!r) return PIPELINE_COOKIE;
  const h = createHash('sha256').update(ruleKey(r)).digest('hex').slice(0, 14);
  return `0xf7${h === '0'.repeat(14) ? '0'.repeat(13) + '1' : h}`;
}

/** What identifies a flow in the switch (OpenFlow's strict match): table, priority and match. */
export const flowKey = (f: OvsFlow) => `table=${f.table},priority=${f.priority}${f.match ? `,${f.match}` : ''}`;

/** The flow as `ovs-ofctl add-flows` takes it. */
export const flowText = (f: OvsFlow) =>
  `table=${f.table},priority=${f.priority},cookie=${cookieOf(f.rule)}${f.match ? `,${f.match}` : ''},actions=${f.actions}`;
