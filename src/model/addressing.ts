import { diag, fail, ok, type Result } from '../diagnostics/index.js';
import { formatCidr, formatIpv4, parseIpv4Cidr, type Ipv4Cidr } from '../net/index.js';
import { FIRST_HOST, GATEWAY_HOST, HOSTS_PER_NODE, MAX_MONITORS, MAX_NODES, monitorBlock, nodeBlock, UNDERLAY } from './layout.js';
import type { Addressing, App } from './types.js';

/** Second and third MAC octets ("ft" / "fm" in ASCII) tell instance and monitor ports apart at a glance. */
const INSTANCE_MAC_TAG = '66:74';
const MONITOR_MAC_TAG = '66:6d';

/**
 * The deterministic default addressing the local cloud uses (layout.ts):
 * the same app always gets the same addresses, interface names and MACs.
 * Instance k (its index in `app.instances`) gets port `ft<k in base 36>`;
 * monitor j gets `fm<j in base 36>`. Fails on an app that `checkApp` would
 * reject (bad network, unknown node, full /24).
 */
export function planAddresses(app: App): Result<Addressing> {
  const net = networkOf(app);
  if (!net.ok) return net;
  const nodeIndex = new Map<string, number>();
  const out: Addressing = { instances: {}, monitors: {}, nodes: {} };
  if (app.nodes.length > MAX_NODES) return fail(diag('E_ADDRESS_SPACE', `at most ${MAX_NODES} nodes fit the underlay`));
  app.nodes.forEach((n, i) => {
    nodeIndex.set(n.name, i);
    const block = nodeBlock(net.value, i);
    out.nodes[n.name] = {
      ip: formatIpv4(UNDERLAY.base + i + 1),
      index: i,
      subnet: formatCidr({ base: block, prefix: 24 }),
      gateway: formatIpv4(block + GATEWAY_HOST),
    };
  });

  const nextHost = new Array<number>(app.nodes.length).fill(FIRST_HOST);
  for (const [k, inst] of app.instances.entries()) {
    const i = nodeIndex.get(inst.node);
    if (i === undefined) return fail(unknownNode(`instance "${inst.name}"`, inst.node));
    const host = nextHost[i]++;
    if (host >= FIRST_HOST + HOSTS_PER_NODE) {
      return fail(diag('E_ADDRESS_SPACE', `node "${inst.node}" has room for ${HOSTS_PER_NODE} instances`));
    }
    out.instances[inst.name] = {
      instance: inst.name,
      node: inst.node,
      port: portName('ft', k),
      ip: formatIpv4(nodeBlock(net.value, i) + host),
      mac: mac(INSTANCE_MAC_TAG, k),
    };
  }

  if (app.monitors.length > MAX_MONITORS) return fail(diag('E_ADDRESS_SPACE', `at most ${MAX_MONITORS} monitors fit their /24`));
  const monitorBase = monitorBlock(net.value);
  for (const [j, m] of app.monitors.entries()) {
    if (!nodeIndex.has(m.node)) return fail(unknownNode(`monitor "${m.name}"`, m.node));
    out.monitors[m.name] = {
      monitor: m.name,
      node: m.node,
      port: portName('fm', j),
      ip: formatIpv4(monitorBase + FIRST_HOST + j),
      mac: mac(MONITOR_MAC_TAG, j),
    };
  }
  return ok(out);
}

/** The /24 a node's instances live in and the node's own address in it (their gateway). */
export function nodeSubnet(app: App, node: string): Result<{ cidr: string; gateway: string }> {
  const i = app.nodes.findIndex((n) => n.name === node);
  if (i < 0) return fail(diag('E_UNKNOWN_NODE', `unknown node "${node}"`));
  const net = networkOf(app);
  return net.ok ? ok(subnetAt(nodeBlock(net.value, i))) : net;
}

/** The /24 monitors are addressed from, and the address reserved for its gateway. */
export function monitorSubnet(app: App): Result<{ cidr: string; gateway: string }> {
  const net = networkOf(app);
  return net.ok ? ok(subnetAt(monitorBlock(net.value))) : net;
}

const subnetAt = (base: number): { cidr: string; gateway: string } => ({
  cidr: formatCidr({ base, prefix: 24 }),
  gateway: formatIpv4(base + GATEWAY_HOST),
});

function networkOf(app: App): Result<Ipv4Cidr> {
  const parsed = parseIpv4Cidr(app.network);
  if (!parsed.ok) return fail(diag('E_CIDR', `network "${app.network}": ${parsed.reason}`));
  if (parsed.cidr.prefix > 23) {
    return fail(diag('E_ADDRESS_SPACE', `network ${app.network} is smaller than two /24 blocks (one per node plus one for monitors)`));
  }
  return ok(parsed.cidr);
}

const unknownNode = (who: string, node: string) => diag('E_UNKNOWN_NODE', `${who} is on unknown node "${node}"`);

/** `ft` + base 36 keeps names far below the kernel's 15-character limit for any realistic index. */
const portName = (prefix: string, index: number): string => prefix + index.toString(36);

/** Locally administered unicast (02:...), the index in the last three octets. */
function mac(tag: string, index: number): string {
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return `02:${tag}:${hex((index >>> 16) & 255)}:${hex((index >>> 8) & 255)}:${hex(index & 255)}`;
}
