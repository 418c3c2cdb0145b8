/**
 * Renders FlowTap contracts to nftables for one node: one netdev table whose chains hook the
 * node side of each tapped instance's veth, outside anything the instance can touch.
 *
 * - `tap_eg_<port>` hooks the port's ingress: the packets the instance sends enter the node
 *   there (contract direction egress or both). `tap_in_<port>` hooks the port's egress: the
 *   packets delivered to the instance (direction ingress or both).
 * - In each chain the forwards come first (`dup to` the monitor: a copy, the original goes on),
 *   then the redirects (`fwd to` the monitor: the packet leaves the chain and the node's path),
 *   so a packet both copied and diverted is copied before the diversion. Contract order is kept
 *   otherwise.
 * - A monitor on another node is reached through the tap tunnel device `tt-<monitor port>`
 *   that the local cloud creates towards the monitor's node.
 * - Sampling: one packet in N is `numgen random mod N == 0`; one flow in N is
 *   `symhash mod N == 0`, a hash of the flow that is the same for both directions.
 * - Budget: a budgeted rule jumps (after its match and sampling) to a chain of its own,
 *   `tapb_<side>_<port>_<contract>`, whose first rule counts what is over budget (`limit rate
 *   over`, comment `<id> over-budget`) and returns; the tap's counter and action come next. So
 *   a forward does not copy what is over budget and a redirect lets it pass untouched (fail open
 *   on overload), as before, but it is counted. It takes a chain rather than a second rule after
 *   the first because `numgen random` would draw again: only one decision per packet is exact.
 *   A bps budget is in bytes (rate/8); nft's bucket for a byte rate holds one time unit's
 *   worth, so a packet larger than that never fits.
 * - failMode: the kernel cannot know whether a monitor is alive, so the mode is a comment and
 *   the controller re-renders with `downMonitors` when one is down: fail-open redirects to it
 *   are left out (traffic flows untapped), fail-closed ones become `drop` for exactly the
 *   packets that would have been diverted (comment `<id> monitor-down`, so its counter reads
 *   as drops, not as packets delivered to the monitor), and forwards to it are left out (there
 *   is nothing to copy to, and its port may be gone, which nft would reject). A redirect
 *   without a failMode fails closed: a redirected packet only ever continues through its monitor.
 * - inline (`inline: true`, the local cloud): a redirect also tags the frame (nft-inline.ts) so
 *   its monitor can pass it back; egress chains first let frames a monitor passed back through
 *   untouched, and each local monitor's return ports get the chains that take frames back.
 * Rule comments are the contract ids (with ` over-budget` or ` monitor-down` for the drops), so
 * counters read back with `nft -j` name contracts.
 */
import { diag, fail, ok, type Diagnostic, type Result } from '../../diagnostics/index.js';
import { checkOverlaps, contractLocation, describeContract, formatContract, type FlowTap } from '../../flowtap/index.js';
import type { Addressing, App } from '../../model/index.js';
import { flowToNft, NFT_TAP_BACKEND } from './flow.js';
import { inlineMonitorPorts, isMac, redirectTag, returnChains, RETURNED_SKIP_RULE, tapTunnelIf, type RedirectSide } from './inline.js';
import { nftIdent, nftString } from './names.js';
import { chainOf, formatTable, type NftChain, type NftTable } from './table.js';

export const TAPS_TABLE = 'flowtap_taps';

export interface NftTapsOptions {
  /** Instances whose ports exist now; others are left out. Default: every instance. */
  live?: Set<string>;
  /** Monitors (by name, the contract's DST) that are down: see the failMode handling above. */
  downMonitors?: string[];
  /** Table name; default flowtap_taps. */
  table?: string;
  /** Monitors pass redirected frames back (nft-inline.ts); needs each monitor's return port on its node. */
  inline?: boolean;
}

/** Largest rate nft's limit accepts per second: the kernel refuses rate * 1e9 ns above 2^64. */
const MAX_LIMIT_PER_SECOND = 18446744073;
/** Larger time units give sub-1/s rates a whole count; each is tried in turn. */
const LIMIT_UNITS: ReadonlyArray<readonly [string, number]> = [
  ['second', 1],
  ['minute', 60],
  ['hour', 3600],
  ['day', 86400],
];

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const TABLE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const MAX_COMMENT = 128;

/** The comment a contract's tap rule carries (its id, as nft can hold it): counters map back by it. */
export function tapComment(contractId: string): string {
  return nftString(contractId.slice(0, MAX_COMMENT)).slice(1, -1);
}

/** Why a tap's packets were not copied or diverted, as its drop counters' comments say. */
export type TapDropReason = 'over-budget' | 'monitor-down';
const DROP_REASONS: readonly TapDropReason[] = ['over-budget', 'monitor-down'];

/** The comment of a contract's drop counter: its id (shortened to leave room) and the reason. */
export function tapDropComment(contractId: string, reason: TapDropReason): string {
  return `${tapComment(contractId).slice(0, MAX_COMMENT - reason.length - 1)} ${reason}`;
}

/**
 * What a taps-table counter's comment names: a contract's tap rule (`reason` null) or one of
 * its drop counters; null for a comment no contract given has.
 */
export function tapCounterOf<T extends { id: string }>(
  contracts: readonly T[],
): (comment: string) => { contract: T; reason: TapDropReason | null } | null {
  const byComment = new Map<string, { contract: T; reason: TapDropReason | null }>();
  for (const c of contracts) {
    byComment.set(tapComment(c.id), { contract: c, reason: null });
    for (const reason of DROP_REASONS) byComment.set(tapDropComment(c.id, reason), { contract: c, reason });
  }
  return (comment) => byComment.get(comment) ?? null;
}

/**
 * An nft identifier for a contract id that keeps ids apart (nftIdent folds `a:1` and `a.1`
 * together): letters and digits stay, `_` doubles, anything else is `_` and four hex digits.
 */
function contractIdent(id: string): string {
  let out = '';
  for (const ch of id) {
    if (/[A-Za-z0-9]/.test(ch)) out += ch;
    else if (ch === '_') out += '__';
    else for (let i = 0; i < ch.length; i++) out += `_${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
  }
  return out;
}

/** nft refuses chain names over 255 bytes; a longer one keeps its start and a hash of the whole. */
const MAX_CHAIN_NAME = 200;

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** The chain a budgeted rule jumps to; named after the contract, so other contracts coming or going leave it (and its counters) alone. */
function budgetChainName(side: string, port: string, contractId: string, taken: Set<string>): string {
  let name = `tapb_${side}_${nftIdent(port)}_${contractIdent(contractId)}`;
  if (name.length > MAX_CHAIN_NAME) name = `${name.slice(0, MAX_CHAIN_NAME - 9)}_${fnv1a(name)}`;
  let unique = name;
  for (let n = 2; taken.has(unique); n++) unique = `${name}_${n}`;
  taken.add(unique);
  return unique;
}

/** `limit rate N[ bytes]/unit`, never above the budget, or the reason it cannot be written. */
function limitExpr(perSecond: number, bytes: boolean): { expr: string } | { why: string } {
  if (!(perSecond <= MAX_LIMIT_PER_SECOND)) {
    return { why: `nft limits go up to ${MAX_LIMIT_PER_SECOND} ${bytes ? 'bytes' : 'packets'} per second` };
  }
  const per = bytes ? ' bytes' : '';
  if (Number.isInteger(perSecond) && perSecond >= 1) return { expr: `limit rate ${perSecond}${per}/second` };
  // Whole counts only: a fractional rate goes to the first larger unit that keeps precision.
  for (const [unit, seconds] of LIMIT_UNITS.slice(1)) {
    const n = Math.floor(perSecond * seconds);
    if (n >= 1 && n * 1e9 * seconds <= 2 ** 64) return { expr: `limit rate ${n}${per}/${unit}` };
  }
  return { why: `nft limits count whole ${bytes ? 'bytes' : 'packets'}, at least one a day` };
}

/** The sampling expression (before the budget) and the budget's `limit rate ...` (null: none). */
function optionExprs(c: FlowTap, unsupported: (option: string, why: string) => void): { sample: string[]; budget: string | null } {
  const out: string[] = [];
  let budget: string | null = null;
  const o = c.options ?? {};
  if (o.sample && o.sample.every !== 1) {
    const n = o.sample.every;
    if (!Number.isInteger(n) || n < 1 || n > 0xffffffff)
      unsupported('sample', `nft's modulus is a whole number from 1 to 4294967295, not ${n}`);
    else if (o.sample.unit === 'flow') out.push(`symhash mod ${n} == 0`);
    else out.push(`numgen random mod ${n} == 0`);
  }
  if (o.budget) {
    const b = o.budget;
    const r = b.unit === 'bps' ? limitExpr(b.rate / 8, true) : limitExpr(b.rate, false);
    if ('why' in r) unsupported('budget', `${b.rate} ${b.unit}: ${r.why}`);
    else budget = r.expr;
  }
  return { sample: out, budget };
}

/** Text safe inside a `#` comment line. */
const lineText = (s: string): string => s.replace(/[\r\n]+/g, ' ');

interface Rule {
  contract: FlowTap;
  /** Match and sampling, before the budget. */
  match: string;
  /** `limit rate ...`: the rule's budget (null: none). */
  budget: string | null;
  device: string;
  /** The monitor is on another node (reached through its tap tunnel). */
  remote: boolean;
  monitorDown: boolean;
}

interface PortRules {
  instance: string;
  port: string;
  egress: Rule[];
  ingress: Rule[];
}

/**
 * A tap's lines in its port chain, and the chain of its own when it has a budget (see above).
 * `tag`: the source address an inline redirect writes (none: a plain diversion).
 */
function ruleLines(r: Rule, tag: string | null, budgetChain: () => string): { lines: string[]; chain?: NftChain } {
  const c = r.contract;
  const about = `# ${lineText(formatContract(c, { details: true }))}`;
  // The counter and action: in the port chain after the match, or alone in the budget chain.
  const place = (notes: string[], action: string): { lines: string[]; chain?: NftChain } => {
    if (r.budget === null) return { lines: [...notes, `${r.match ? `${r.match} ` : ''}${action}`] };
    const name = budgetChain();
    const over = `${r.budget.replace(/^limit rate /, 'limit rate over ')} counter return comment "${tapDropComment(c.id, 'over-budget')}"`;
    return { lines: [...notes, `${r.match ? `${r.match} ` : ''}jump ${name}`], chain: chainOf(name, undefined, [over, action]) };
  };
  if (c.action === 'forward') {
    if (r.monitorDown) return { lines: [`# ${lineText(c.id)} left out: monitor ${lineText(c.dst)} is down`, about] };
    return place([about], `counter dup to ${nftString(r.device)} comment "${tapComment(c.id)}"`);
  }
  const mode = c.options?.failMode === 'open' ? 'fail-open' : 'fail-closed';
  const retag = tag ? `ether saddr set ${tag} ` : '';
  // A monitor on another node passes frames back through the same tunnel in the queue mode only.
  const oneWay =
    tag && r.remote ? [`# inline: ${lineText(c.dst)} is on another node; what it passes comes back by its tap tunnel (queue mode)`] : [];
  if (!r.monitorDown)
    return place(
      [`${about}; ${mode} when ${lineText(c.dst)} is down`, ...oneWay],
      `counter ${retag}fwd to ${nftString(r.device)} comment "${tapComment(c.id)}"`,
    );
  if (mode === 'fail-open')
    return { lines: [`# ${lineText(c.id)} left out: monitor ${lineText(c.dst)} is down and the redirect fails open`, about] };
  return place(
    [`${about} ${mode}: monitor is down, dropping what it would divert`],
    `counter drop comment "${tapDropComment(c.id, 'monitor-down')}"`,
  );
}

/** The taps of one node as text (see nftTapsTable). */
export function renderNftTaps(
  contracts: readonly FlowTap[],
  app: App,
  addressing: Addressing,
  node: string,
  opts: NftTapsOptions = {},
): Result<string> {
  const t = nftTapsTable(contracts, app, addressing, node, opts);
  return t.ok ? ok(formatTable(t.value)) : t;
}

/**
 * The `netdev` taps table of one node: an empty table when no contract taps a live local port,
 * so an atomic replace still removes old chains. Fails with every diagnostic: unknown ports,
 * fields and options the backend cannot express, overlapping redirects.
 */
export function nftTapsTable(
  contracts: readonly FlowTap[],
  app: App,
  addressing: Addressing,
  node: string,
  opts: NftTapsOptions = {},
): Result<NftTable> {
  const errs: Diagnostic[] = [];
  const table = opts.table ?? TAPS_TABLE;
  if (!TABLE_NAME.test(table))
    errs.push(diag('E_NFT_TAP_OPTIONS', `table name ${JSON.stringify(table)} must be a letter followed by letters, digits or _`));
  const down = new Set(opts.downMonitors ?? []);
  const instances = new Set(app.instances.map((i) => i.name));
  const byPort = new Map<string, PortRules>();
  const local: FlowTap[] = [];

  for (const c of contracts) {
    const where = contractLocation(c);
    const name = describeContract(c);
    const portErr = (msg: string) => errs.push(diag('E_NFT_TAP_PORT', `${name}: ${msg}`, where));
    const src = Object.hasOwn(addressing.instances, c.src) ? addressing.instances[c.src] : undefined;
    const mon = Object.hasOwn(addressing.monitors, c.dst) ? addressing.monitors[c.dst] : undefined;
    if (!src || !instances.has(c.src)) portErr(`source port ${c.src} is not an attached instance of app ${app.tenant}/${app.name}`);
    else if (c.tenant !== app.tenant) portErr(`tenant ${c.tenant} cannot tap port ${c.src} of tenant ${app.tenant}`);
    if (!mon) portErr(`monitor port ${c.dst} has no attachment`);
    if (!src || !mon || c.tenant !== app.tenant || src.node !== node) continue;
    local.push(c);

    const device = mon.node === node ? mon.port : tapTunnelIf(mon.port);
    if (!IFNAME.test(src.port)) portErr(`port ${JSON.stringify(src.port)} of ${c.src} is not a valid interface name`);
    if (opts.inline && !isMac(src.mac))
      portErr(`port ${src.port} of ${c.src} has no valid MAC address (${JSON.stringify(src.mac)}) for inline redirect tags`);
    if (!IFNAME.test(device))
      portErr(`monitor device ${JSON.stringify(device)} for ${c.dst} is not a valid interface name (at most 15 characters)`);
    const flow = flowToNft(c.flow, 'nftables-netdev', where);
    if (!flow.ok) errs.push(...flow.errors.map((e) => ({ ...e, message: `${name}: ${e.message}` })));
    const extra = optionExprs(c, (option, why) =>
      errs.push(
        diag('E_BACKEND_UNSUPPORTED', `${name}: option ${option} cannot be expressed by the ${NFT_TAP_BACKEND} backend: ${why}`, where),
      ),
    );
    if (opts.live && !opts.live.has(c.src)) continue;
    if (!flow.ok) continue;

    let pr = byPort.get(src.port);
    if (!pr) {
      pr = { instance: src.instance, port: src.port, egress: [], ingress: [] };
      byPort.set(src.port, pr);
    }
    const rule: Rule = {
      contract: c,
      match: [flow.value, ...extra.sample].filter(Boolean).join(' '),
      budget: extra.budget,
      device,
      remote: mon.node !== node,
      monitorDown: down.has(c.dst),
    };
    if (c.direction !== 'ingress') pr.egress.push(rule);
    if (c.direction !== 'egress') pr.ingress.push(rule);
  }
  errs.push(...checkOverlaps(local));
  if (errs.length > 0) return fail(errs);

  const chains: NftChain[] = [];
  const chainNames = new Set<string>();
  const ports = [...byPort.values()].sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0));
  for (const p of ports) {
    for (const [side, hook, rules] of [
      ['eg', 'ingress', p.egress],
      ['in', 'egress', p.ingress],
    ] as const) {
      if (rules.length === 0) continue;
      const lines: string[] = [];
      if (opts.inline && hook === 'egress') lines.push(RETURNED_SKIP_RULE);
      const ordered = [...rules.filter((r) => r.contract.action === 'forward'), ...rules.filter((r) => r.contract.action !== 'forward')];
      const tagSide: RedirectSide = side === 'eg' ? 'sent' : 'delivered';
      const mac = addressing.instances[p.instance].mac;
      for (const r of ordered) {
        const tag =
          opts.inline && r.contract.action === 'redirect'
            ? redirectTag(mac, tagSide, r.contract.options?.failMode === 'open' ? 'open' : 'closed')
            : null;
        const out = ruleLines(r, tag, () => budgetChainName(side, p.port, r.contract.id, chainNames));
        lines.push(...out.lines);
        // Before the port chain that jumps to it: a chain exists before anything refers to it.
        if (out.chain) chains.push(out.chain);
      }
      chains.push(chainOf(`tap_${side}_${nftIdent(p.port)}`, `type filter hook ${hook} device ${nftString(p.port)} priority 0;`, lines));
    }
  }
  if (opts.inline) {
    const localPorts = app.instances
      .filter((i) => (!opts.live || opts.live.has(i.name)) && addressing.instances[i.name]?.node === node)
      .map((i) => ({ instance: i.name, port: addressing.instances[i.name].port, mac: addressing.instances[i.name].mac }))
      .filter((p) => IFNAME.test(p.port) && isMac(p.mac));
    const monitors = inlineMonitorPorts(addressing, node, local).filter((m) => IFNAME.test(m.port) && IFNAME.test(m.returnPort));
    chains.push(...returnChains(monitors, localPorts));
  }
  return ok({ family: 'netdev', name: table, sets: [], chains });
}
