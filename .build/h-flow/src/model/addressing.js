import { diag, FlowtapError } from '../diagnostics/index.js';
import { ModelCode } from './codes.js';
import { formatCidr, formatIpv4, parseCidr } from './ipv4.js';
import { FIRST_HOST, GATEWAY_HOST, HOSTS_PER_NODE, MAX_MONITORS, MAX_NODES, monitorBlock, nodeBlock, UNDERLAY } from './layout.js';
/** Second and third MAC octets ("ft" / "fm" in ASCII) tell instance and monitor ports apart at a glance. */
const INSTANCE_MAC_TAG = '66:74';
const MONITOR_MAC_TAG = '66:6d';
/**
 * The deterministic default addressing the local cloud uses (layout.ts):
 * the same app always gets the same addresses, interface names and MACs.
 * Instance k (its index in `app.instances`) gets port `ft<k in base 36>`;
 * monitor j gets `fm<j in base 36>`. Throws FlowtapError on an app that
 * `checkApp` would reject (bad network, unknown node, full /24).
 */
export function planAddresses(app) {
    const net = networkOf(app);
    const nodeIndex = new Map();
    const out = { instances: {}, monitors: {}, nodes: {} };
    if (app.nodes.length > MAX_NODES)
        throw new FlowtapError(diag(ModelCode.ADDRESS_SPACE, `at most ${MAX_NODES} nodes fit the underlay`));
    app.nodes.forEach((n, i) => {
        nodeIndex.set(n.name, i);
        const block = nodeBlock(net, i);
        out.nodes[n.name] = {
            ip: formatIpv4(UNDERLAY.base + i + 1),
            index: i,
            subnet: formatCidr({ base: block, prefix: 24 }),
            gateway: formatIpv4(block + GATEWAY_HOST),
        };
    });
    const nextHost = new Array(app.nodes.length).fill(FIRST_HOST);
    app.instances.forEach((inst, k) => {
        const i = indexOfNode(nodeIndex, inst.node, `instance "${inst.name}"`);
        const host = nextHost[i]++;
        if (host >= FIRST_HOST + HOSTS_PER_NODE) {
            throw new FlowtapError(diag(ModelCode.ADDRESS_SPACE, `node "${inst.node}" has room for ${HOSTS_PER_NODE} instances`));
        }
        out.instances[inst.name] = { instance: inst.name, node: inst.node, port: portName('ft', k), ip: formatIpv4(nodeBlock(net, i) + host), mac: mac(INSTANCE_MAC_TAG, k) };
    });
    if (app.monitors.length > MAX_MONITORS)
        throw new FlowtapError(diag(ModelCode.ADDRESS_SPACE, `at most ${MAX_MONITORS} monitors fit their /24`));
    const monitorBase = monitorBlock(net);
    app.monitors.forEach((m, j) => {
        indexOfNode(nodeIndex, m.node, `monitor "${m.name}"`);
        out.monitors[m.name] = { monitor: m.name, node: m.node, port: portName('fm', j), ip: formatIpv4(monitorBase + FIRST_HOST + j), mac: mac(MONITOR_MAC_TAG, j) };
    });
    return out;
}
/** The /24 a node's instances live in and the node's own address in it (their gateway). */
export function nodeSubnet(app, node) {
    const i = app.nodes.findIndex((n) => n.name === node);
    if (i < 0)
        throw new FlowtapError(diag(ModelCode.UNKNOWN_NODE, `unknown node "${node}"`));
    const base = nodeBlock(networkOf(app), i);
    return { cidr: formatCidr({ base, prefix: 24 }), gateway: formatIpv4(base + GATEWAY_HOST) };
}
/** The /24 monitors are addressed from, and the address reserved for its gateway. */
export function monitorSubnet(app) {
    const base = monitorBlock(networkOf(app));
    return { cidr: formatCidr({ base, prefix: 24 }), gateway: formatIpv4(base + GATEWAY_HOST) };
}
function networkOf(app) {
    const parsed = parseCidr(app.network);
    if (!parsed.ok)
        throw new FlowtapError(diag(ModelCode.CIDR, `network "${app.network}": ${parsed.reason}`));
    if (parsed.cidr.prefix > 23) {
        throw new FlowtapError(diag(ModelCode.ADDRESS_SPACE, `network ${app.network} is smaller than two /24 blocks (one per node plus one for monitors)`));
    }
    return parsed.cidr;
}
function indexOfNode(index, node, who) {
    const i = index.get(node);
    if (i === undefined)
        throw new FlowtapError(diag(ModelCode.UNKNOWN_NODE, `${who} is on unknown node "${node}"`));
    return i;
}
/** `ft` + base 36 keeps names far below the kernel's 15-character limit for any realistic index. */
const portName = (prefix, index) => prefix + index.toString(36);
/** Locally administered unicast (02:...), the index in the last three octets. */
function mac(tag, index) {
    const hex = (n) => n.toString(16).padStart(2, '0');
    return `02:${tag}:${hex((index >>> 16) & 255)}:${hex((index >>> 8) & 255)}:${hex(index & 255)}`;
}
//# sourceMappingURL=addressing.js.map