import { diag, type Diagnostic } from '../../diagnostics/index.js';
import type { CheckContext } from './context.js';
import { cidrsOverlap, parseIpv4Cidr } from '../../net/index.js';
import { blocksIn, HOSTS_PER_NODE, MAX_MONITORS, MAX_NODES, UNDERLAY, UNDERLAY_NETWORK } from '../layout.js';
import { instanceCounts } from '../placement.js';
import type { App } from '../types.js';

/** The network is a valid IPv4 block with room for every node, instance and monitor (see layout.ts). */
export function checkNetwork(app: App, ctx: CheckContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = ctx.locate('network');
  const parsed = parseIpv4Cidr(app.network);
  if (!parsed.ok) {
    return [diag('E_CIDR', `network ${JSON.stringify(app.network)} is not an IPv4 CIDR like 10.77.0.0/16: ${parsed.reason}`, at)];
  }
  const net = parsed.cidr;
  if (cidrsOverlap(net, UNDERLAY)) {
    out.push(diag('E_CIDR', `network ${app.network} overlaps the node underlay ${UNDERLAY_NETWORK}`, at));
  }

  const space = (msg: string): void => void out.push(diag('E_ADDRESS_SPACE', msg, at));
  const nodes = app.nodes.length;
  if (nodes > MAX_NODES) space(`at most ${MAX_NODES} nodes fit the underlay ${UNDERLAY_NETWORK}; got ${nodes}`);
  const blocks = blocksIn(net);
  if (nodes + 1 > blocks) {
    space(
      `network ${app.network} holds ${blocks} /24 block(s), but ${nodes} node(s) need one each plus one for monitors: use a /${prefixFor(nodes + 1)} or larger`,
    );
  }
  for (const [node, count] of instanceCounts(app)) {
    if (count > HOSTS_PER_NODE) space(`node "${node}" would hold ${count} instances, but its /24 block has room for ${HOSTS_PER_NODE}`);
  }
  if (app.monitors.length > MAX_MONITORS) {
    space(`${app.monitors.length} monitors do not fit the monitors' /24 block (room for ${MAX_MONITORS})`);
  }
  return out;
}

/** Longest prefix whose network holds `blocks` /24 blocks. */
function prefixFor(blocks: number): number {
  return 24 - Math.ceil(Math.log2(Math.max(1, blocks)));
}
