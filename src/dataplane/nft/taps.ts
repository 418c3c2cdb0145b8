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
 * - Budget: a `limit rate` before the counter, so packets over budget do not match the rule:
 *   a forward does not copy them and a redirect lets them pass untouched (fail open on
 *   overload). A bps budget is in bytes (rate/8); nft's bucket for a byte rate holds one time
 *   unit's worth, so a packet larger than that never fits.
 * - failMode: the kernel cannot know whether a monitor is alive, so the mode is a comment and
 *   the controller re-renders with `downMonitors` when one is down: fail-open redirects to it
 *   are left out (traffic flows untapped), fail-closed ones become `drop` for exactly the
 *   packets that would have been diverted, and forwards to it are left out (there is nothing
 *   to copy to, and its port may be gone, which nft would reject). A redirect without a
 *   failMode fails closed: a redirected packet only ever continues through its monitor.
 * - inline (`inline: true`, the local cloud): a redirect also tags the frame (nft-inline.ts) so
 *   its monitor can pass it back; egress chains first let frames a monitor passed back through
 *   untouched, and each local monitor's return ports get the chains that take frames back.
 * Rule comments are the contract ids, so counters read back with `nft -j` name contracts.
 */
import { diag, fail, ok, type Diagnostic, type Result } from '../../diagnostics/index.js';
import { checkOverlaps, contractLocation, describeContract, formatContract, type FlowTap } from '../../flowtap/index.js';
import type { Addressing, App } from '../../model/index.js';
import { flowToNft, NFT_TAP_BACKEND } from './flow.js';
import { isMac, localMonitorPorts, redirectTag, returnChains, RETURNED_SKIP_RULE, type RedirectSide } from './inline.js';
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

/** Interface on a node that carries taps to a monitor on another node. */
export function tapTunnelIf(monitorPort: string): string {
  return `tt-${monitorPort}`;
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

function optionExprs(c: FlowTap, unsupported: (option: string, why: string) => void): string[] {
  const out: string[] = [];
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
    else out.push(r.expr);
  }
  return out;
}

/** Text safe inside a `#` comment line. */
const lineText = (s: string): string => s.replace(/[\r\n]+/g, ' ');

interface Rule {
  contract: FlowTap;
  /** Match, sampling and budget, before the counter. */
  match: string;
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

/** `tag`: the source address an inline redirect writes (none: a plain diversion). */
function ruleLines(r: Rule, tag: string | null): string[] {
  const c = r.contract;
  const head = r.match ? `${r.match} ` : '';
  const comment = `comment "${tapComment(c.id)}"`;
  const about = `# ${lineText(formatContract(c, { details: true }))}`;
  if (c.action === 'forward') {
    if (r.monitorDown) return [`# ${lineText(c.id)} left out: monitor ${lineText(c.dst)} is down`, about];
    return [about, `${head}counter dup to ${nftString(r.device)} ${comment}`];
  }
  const mode = c.options?.failMode === 'open' ? 'fail-open' : 'fail-closed';
  const retag = tag ? `ether saddr set ${tag} ` : '';
  // Frames reach a monitor on another node through its tap tunnel, and nothing brings them back yet.
  const oneWay =
    tag && r.remote
      ? [`# inline: ${lineText(c.dst)} is on another node; what it would pass back does not return (cross-node inline is not supported)`]
      : [];
  if (!r.monitorDown)
    return [
      `${about}; ${mode} when ${lineText(c.dst)} is down`,
      ...oneWay,
      `${head}counter ${retag}fwd to ${nftString(r.device)} ${comment}`,
    ];
  if (mode === 'fail-open') return [`# ${lineText(c.id)} left out: monitor ${lineText(c.dst)} is down and the redirect fails open`, about];
  return [`${about} ${mode}: monitor is down, dropping what it would divert`, `${head}counter drop ${comment}`];
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
      match: [flow.value, ...extra].filter(Boolean).join(' '),
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
        lines.push(...ruleLines(r, tag));
      }
      chains.push(chainOf(`tap_${side}_${nftIdent(p.port)}`, `type filter hook ${hook} device ${nftString(p.port)} priority 0;`, lines));
    }
  }
  if (opts.inline) {
    const localPorts = app.instances
      .filter((i) => (!opts.live || opts.live.has(i.name)) && addressing.instances[i.name]?.node === node)
      .map((i) => ({ instance: i.name, port: addressing.instances[i.name].port, mac: addressing.instances[i.name].mac }))
      .filter((p) => IFNAME.test(p.port) && isMac(p.mac));
    const monitors = localMonitorPorts(addressing, node).filter((m) => IFNAME.test(m.port) && IFNAME.test(m.returnPort));
    chains.push(...returnChains(monitors, localPorts));
  }
  return ok({ family: 'netdev', name: table, sets: [], chains });
}
