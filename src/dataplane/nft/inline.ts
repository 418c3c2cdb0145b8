/**
 * Inline redirects: the path from a node through its monitor and back (docs/dataplane.md,
 * "Inline monitors").
 *
 * A redirect rule tags the frame it diverts by rewriting its Ethernet source address to a
 * **redirect tag** `02:66:TT:xx:xx:xx`: `xx:xx:xx` are the low octets of the tapped instance's
 * MAC (its index), and TT = 0x70 | 1 (diverted on the way *to* the instance, i.e. at its port's
 * egress hook, else sent *by* it) | 2 (the contract fails open). The tag tells everyone
 * downstream what they need without any shared state:
 * - the monitor namespace passes only tagged frames back (copies are untagged and end there),
 *   and, when the monitor process is not running or is overloaded, passes or drops each frame
 *   by the failMode bit of its own contract;
 * - the node knows where a returned frame goes: one diverted on its way to instance k leaves
 *   straight out of k's port (the forward chain already checked it before the diversion);
 *   one sent by k enters the node's forward path, where the firewall runs k's egress check
 *   selected by the tag (not by the source address, which k could forge);
 * - a returned frame is marked RETURN_MARK so the egress tap chain that diverted it does not
 *   divert it again, while other ports' taps still see it.
 * Inside the monitor namespace the frame keeps its addresses: the verdict is taken at eth0's
 * netdev ingress and a passed frame is forwarded unchanged out of eth1 (no routing, no TTL
 * change). Resets for blocked connections leave through eth0 (netdev reject answers on the
 * input device) and the node delivers them from the monitor port.
 */
import { endianness } from 'node:os';
import type { Addressing } from '../../model/index.js';
import { parseIpv4 } from '../../net/index.js';
import { nftSet, nftString } from './names.js';
import { chainOf, type NftChain } from './table.js';

/** Table owned by the monitor process inside each monitor namespace. */
export const INLINE_TABLE = 'flowtap_inline';
/** Inside a monitor namespace: the veth that taps arrive on, and the one passed frames leave by. */
export const MONITOR_TAP_IF = 'eth0';
export const MONITOR_RETURN_IF = 'eth1';
/** skb mark of a frame a monitor passed back to its node ("FT" 0001). */
export const RETURN_MARK = 0x46540001;

/** Redirect tags: `ether saddr & TAG_MASK == TAG_BASE`. */
const TAG_MASK = 'ff:ff:fc:00:00:00';
const TAG_BASE = '02:66:70:00:00:00';
/** Compares a tag without its failMode bit. */
export const TAG_KIND_MASK = 'ff:ff:fd:ff:ff:ff';
const TAG_DELIVERED = 1;
const TAG_OPEN = 2;

/** Seconds a monitor's verdict elements live (an expired one is re-added when still needed). */
export const INLINE_TIMEOUTS = { pass: 60, free: 600, blocked: 600 } as const;

export type RedirectSide = 'sent' | 'delivered';
export type FailMode = 'open' | 'closed';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
export const isMac = (s: string): boolean => MAC.test(s);

/** The tag a redirect on `instanceMac`'s port writes as source address. */
export function redirectTag(instanceMac: string, side: RedirectSide, mode: FailMode): string {
  if (!MAC.test(instanceMac)) throw new Error(`not a MAC address: ${JSON.stringify(instanceMac)}`);
  const tt = 0x70 | (side === 'delivered' ? TAG_DELIVERED : 0) | (mode === 'open' ? TAG_OPEN : 0);
  return `02:66:${tt.toString(16)}:${instanceMac.toLowerCase().split(':').slice(3).join(':')}`;
}

export interface RedirectTagInfo {
  side: RedirectSide;
  mode: FailMode;
}

/** Reads a tag from the 6 bytes of a source address at `off`; null when the frame is not a tagged redirect. */
export function parseRedirectTag(b: Uint8Array, off: number): RedirectTagInfo | null {
  if (off + 6 > b.length || b[off] !== 0x02 || b[off + 1] !== 0x66 || (b[off + 2] & 0xfc) !== 0x70) return null;
  const tt = b[off + 2];
  return { side: tt & TAG_DELIVERED ? 'delivered' : 'sent', mode: tt & TAG_OPEN ? 'open' : 'closed' };
}

/** Node-side name of a monitor's return veth: `fm<j>` → `fr<j>` (never of the instance/monitor port forms). */
export function monitorReturnPort(monitorPort: string): string {
  return monitorPort.startsWith('fm') ? `fr${monitorPort.slice(2)}` : `r-${monitorPort}`.slice(0, 15);
}

export interface LocalMonitorPorts {
  monitor: string;
  /** Where taps enter the monitor namespace (and its resets come back). */
  port: string;
  /** Where passed frames come back. */
  returnPort: string;
  /**
   * A monitor on another node, reached through its tap tunnel (`port` = `returnPort` = the
   * tunnel): a queue-mode monitor sends what it passes and its resets back by the tunnel.
   */
  remote?: boolean;
}

/** Interface on a node that carries taps to a monitor on another node (and brings back what it passes). */
export function tapTunnelIf(monitorPort: string): string {
  return `tt-${monitorPort}`;
}

/** The monitors attached to `node`, with their ports. */
export function localMonitorPorts(addressing: Addressing, node: string): LocalMonitorPorts[] {
  return Object.values(addressing.monitors)
    .filter((m) => m.node === node)
    .sort((a, b) => (a.monitor < b.monitor ? -1 : a.monitor > b.monitor ? 1 : 0))
    .map((m) => ({ monitor: m.monitor, port: m.port, returnPort: monitorReturnPort(m.port) }));
}

/**
 * The monitors that can pass frames back on `node`: its own (by their return veths) and, by
 * their tap tunnels, those on other nodes that a redirect of an instance here diverts to.
 */
export function inlineMonitorPorts(
  addressing: Addressing,
  node: string,
  contracts: readonly { src: string; dst: string; action: string }[],
): LocalMonitorPorts[] {
  const remote = new Set<string>();
  for (const c of contracts) {
    if (c.action !== 'redirect' || !Object.hasOwn(addressing.instances, c.src) || !Object.hasOwn(addressing.monitors, c.dst)) continue;
    if (addressing.instances[c.src].node === node && addressing.monitors[c.dst].node !== node) remote.add(c.dst);
  }
  const far = [...remote].sort().map((m) => {
    const dev = tapTunnelIf(addressing.monitors[m].port);
    return { monitor: m, port: dev, returnPort: dev, remote: true };
  });
  return [...localMonitorPorts(addressing, node), ...far];
}

export interface LocalInstancePort {
  instance: string;
  port: string;
  mac: string;
}

/** The canonical (fail-closed) tag, as the node's `& TAG_KIND_MASK` comparisons see it. */
const kindTag = (mac: string, side: RedirectSide) => redirectTag(mac, side, 'closed');

const map = (pairs: [string, string][]) => `map { ${pairs.map(([k, v]) => `${k} : ${v}`).join(', ')} }`;

/**
 * The node-side chains (inside the netdev taps table) that take frames back from the monitors
 * on this node: `ret_<returnPort>` for frames a monitor passed, `rst_<port>` for the resets
 * it sends for blocked connections. Only instances whose ports exist now may be named.
 */
export function returnChains(monitors: readonly LocalMonitorPorts[], instances: readonly LocalInstancePort[]): NftChain[] {
  const out: NftChain[] = [];
  const sorted = [...instances].sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0));
  const delivered = sorted.map((i) => [kindTag(i.mac, 'delivered'), nftString(i.port)] as [string, string]);
  const sent = sorted.map((i) => kindTag(i.mac, 'sent'));
  const sentToMac = sorted.map((i) => [kindTag(i.mac, 'sent'), i.mac.toLowerCase()] as [string, string]);
  const macToPort = sorted.map((i) => [i.mac.toLowerCase(), nftString(i.port)] as [string, string]);
  const mark = `meta mark set 0x${RETURN_MARK.toString(16)}`;
  for (const m of monitors) {
    const ret: string[] = [];
    if (sorted.length)
      ret.push(
        `ether saddr & ${TAG_KIND_MASK} ${nftSet(delivered.map((d) => d[0]))} counter ${mark} fwd to ether saddr & ${TAG_KIND_MASK} ${map(delivered)} comment "${returnComment(m.monitor, 'delivered')}"`,
        `ether saddr & ${TAG_KIND_MASK} ${nftSet(sent)} counter meta pkttype set host accept comment "${returnComment(m.monitor, 'sent')}"`,
      );
    const rst: string[] = [];
    if (sorted.length)
      rst.push(
        `ether daddr & ${TAG_KIND_MASK} ${nftSet(sent)} counter ${mark} ether daddr set ether daddr & ${TAG_KIND_MASK} ${map(sentToMac)} fwd to ether daddr ${map(macToPort)} comment "reset from ${m.monitor} to the instance that sent"`,
        `ether daddr & ${TAG_KIND_MASK} ${nftSet(delivered.map((d) => d[0]))} counter ${mark} meta pkttype set host accept comment "reset from ${m.monitor} towards the peer: forward path (established only)"`,
      );
    if (m.remote) {
      // One tunnel brings both back: passed frames carry the tag as source, resets as destination.
      out.push(
        chainOf(returnChainName(m.returnPort), `type filter hook ingress device ${nftString(m.returnPort)} priority 0; policy drop;`, [
          ...ret,
          ...rst,
          `counter drop comment "not a frame or reset from ${m.monitor}"`,
        ]),
      );
      continue;
    }
    ret.push(`counter drop comment "not a frame ${m.monitor} passed"`);
    out.push(
      chainOf(returnChainName(m.returnPort), `type filter hook ingress device ${nftString(m.returnPort)} priority 0; policy drop;`, ret),
    );
    rst.push(`counter drop comment "not a reset from ${m.monitor}"`);
    out.push(
      chainOf(
        `rst_${m.port.replace(/[^A-Za-z0-9_]/g, '_')}`,
        `type filter hook ingress device ${nftString(m.port)} priority 0; policy drop;`,
        rst,
      ),
    );
  }
  return out;
}

/** The chain on a monitor's return port that takes back what it passes. */
export function returnChainName(returnPort: string): string {
  return `ret_${returnPort.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** The comment of the return-chain rule a frame passed back by `monitor` counts on, by where it was diverted. */
export function returnComment(monitor: string, side: RedirectSide): string {
  return side === 'delivered'
    ? `passed by ${monitor} on its way to an instance: out of its port`
    : `passed by ${monitor}, sent by an instance: into the forward path`;
}

/** The rule an egress tap chain starts with in inline mode: a frame a monitor passed back is not tapped twice here. */
export const RETURNED_SKIP_RULE = `meta mark 0x${RETURN_MARK.toString(16)} counter return comment "passed back by a monitor: this chain already ran"`;

export interface InlineTableOptions {
  tapIf?: string;
  returnIf?: string;
  table?: string;
}

const PURE_TCP = Array.from({ length: 11 }, (_, i) => i + 5);

/**
 * The ruleset of a monitor namespace: static, so it is installed when the namespace is made and
 * holds whether or not the monitor process runs. The process only adds elements:
 * - `alive` (`"eth0"`, a short timeout it keeps refreshing): while present, frames go through
 *   `live`; without it (process dead, restarting or overloaded) each frame's failMode bit
 *   decides: fail-open passes, fail-closed drops;
 * - in `live`: non-TCP and payload-less TCP pass; `blocked` connections (client → server) get a
 *   TCP reset; `free` directions (server → client, or a connection passed as a whole) pass;
 *   client payload passes only as a segment the monitor approved (`pass`: 4-tuple and sequence
 *   number, compared through the packet mark because nft cannot key a set on the sequence
 *   number directly); everything else is held (dropped) until the monitor has judged it from
 *   its capture, and the client's retransmission then finds its verdict.
 * Untagged frames are copies (forward contracts): the capture has them, they go no further.
 */
export function renderInlineTable(opts: InlineTableOptions = {}): string {
  const t = opts.table ?? INLINE_TABLE;
  const inIf = nftString(opts.tapIf ?? MONITOR_TAP_IF);
  const out = nftString(opts.returnIf ?? MONITOR_RETURN_IF);
  const tuple = 'ip saddr . tcp sport . ip daddr . tcp dport';
  return [
    `table netdev ${t}`,
    `delete table netdev ${t}`,
    `table netdev ${t} {`,
    '  set alive { type ifname; flags timeout; }',
    `  set free { typeof ${tuple}; flags timeout; timeout ${INLINE_TIMEOUTS.free}s; }`,
    `  set blocked { typeof ${tuple}; flags timeout; timeout ${INLINE_TIMEOUTS.blocked}s; }`,
    `  set pass { typeof ${tuple} . meta mark; flags timeout; timeout ${INLINE_TIMEOUTS.pass}s; }`,
    '  chain taps {',
    `    type filter hook ingress device ${inIf} priority 0; policy drop;`,
    `    ether saddr & ${TAG_MASK} != ${TAG_BASE} counter drop comment "a copy: the capture has it"`,
    `    iifname @alive counter jump live`,
    `    ether saddr & ff:ff:fe:00:00:00 == 02:66:72:00:00:00 counter fwd to ${out} comment "monitor not running or overloaded: fail-open"`,
    '    counter drop comment "monitor not running or overloaded: fail-closed"',
    '  }',
    '  chain live {',
    `    meta protocol != ip counter fwd to ${out} comment "not IPv4"`,
    `    meta l4proto != tcp counter fwd to ${out} comment "not TCP: no request to judge"`,
    `    ${tuple} @blocked counter reject with tcp reset comment "blocked"`,
    ...PURE_TCP.map((d) => `    ip hdrlength 5 tcp doff ${d} ip length ${20 + 4 * d} counter fwd to ${out}`),
    `    ${tuple} @free counter fwd to ${out} comment "server to client, or passed whole"`,
    `    meta mark set tcp sequence ${tuple} . meta mark @pass counter fwd to ${out} comment "judged"`,
    '    counter drop comment "held until judged"',
    '  }',
    '}',
    '',
  ].join('\n');
}

/** An IPv4 TCP direction as nft's concatenation `a . p . b . q`. */
export interface InlineTuple {
  src: string;
  sport: number;
  dst: string;
  dport: number;
}

function tupleText(t: InlineTuple): string {
  // Only values the decoder produced reach here; refuse anything else rather than build a command from it.
  if (parseIpv4(t.src) === undefined || parseIpv4(t.dst) === undefined) throw new Error(`not IPv4: ${t.src} ${t.dst}`);
  if (!(Number.isInteger(t.sport) && t.sport >= 0 && t.sport < 65536 && Number.isInteger(t.dport) && t.dport >= 0 && t.dport < 65536))
    throw new Error(`not a port: ${t.sport} ${t.dport}`);
  return `${t.src} . ${t.sport} . ${t.dst} . ${t.dport}`;
}

/** A sequence number as `meta mark set tcp sequence` leaves it: raw network bytes read in host order. */
export function sequenceMark(seq: number, littleEndian = endianness() === 'LE'): number {
  const s = seq >>> 0;
  if (!littleEndian) return s;
  return (((s & 0xff) << 24) | ((s & 0xff00) << 8) | ((s >>> 8) & 0xff00) | (s >>> 24)) >>> 0;
}

/** One-line `nft -i` commands the monitor process sends to its namespace's table. */
export function inlineCommands(table = INLINE_TABLE, tapIf = MONITOR_TAP_IF) {
  const set = (name: string) => `element netdev ${table} ${name}`;
  const ifname = nftString(tapIf);
  // add-delete-add in one transaction (one line) restarts an element's timeout on any kernel.
  const refresh = (name: string, key: string) => `add ${set(name)} { ${key} }; delete ${set(name)} { ${key} }; add ${set(name)} { ${key} }`;
  return {
    /** Keeps `live` in force for `seconds` more. */
    alive: (seconds: number) => {
      const key = `${ifname} timeout ${Math.max(1, Math.round(seconds))}s`;
      return `add ${set('alive')} { ${key} }; delete ${set('alive')} { ${ifname} }; add ${set('alive')} { ${key} }`;
    },
    /** Hands every frame to the failMode fallback at once. */
    fallback: () => `flush set netdev ${table} alive`,
    pass: (t: InlineTuple, seq: number) => `add ${set('pass')} { ${tupleText(t)} . 0x${sequenceMark(seq).toString(16)} }`,
    /** A direction that passes unjudged; also restarts its timeout when it is already there. */
    free: (t: InlineTuple) => refresh('free', tupleText(t)),
    block: (t: InlineTuple) => `add ${set('blocked')} { ${tupleText(t)} }`,
  };
}

export type InlineCommands = ReturnType<typeof inlineCommands>;
