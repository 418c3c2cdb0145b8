import { UPLINK_IF, VXLAN_IF } from '../dataplane/index.js';
import { EXTERNAL_IP, externalNs, INSTANCE_IF, instanceNs, MONITOR_IF, monitorNs, nodeNs, UNDERLAY_BRIDGE, UNDERLAY_PREFIX, underlayNs, VXLAN_PORT, } from './names.js';
/** Overlay address of node `index` on the VXLAN link between nodes. */
export const overlayIp = (index) => `10.251.0.${index + 1}`;
const UNDERLAY_MTU = '9000';
function nsBase(ns) {
    return [
        ['ip', 'netns', 'add', ns],
        ['ip', '-n', ns, 'link', 'set', 'lo', 'up'],
        // IPv6 router solicitations would be noise in every capture; the app network is IPv4.
        ['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'],
    ];
}
export function underlayPlan(app, addressing) {
    const ul = underlayNs(app.name);
    const ext = externalNs(app.name);
    const steps = [
        ...nsBase(ul),
        ['ip', '-n', ul, 'link', 'add', UNDERLAY_BRIDGE, 'mtu', UNDERLAY_MTU, 'type', 'bridge'],
        ['ip', '-n', ul, 'link', 'set', UNDERLAY_BRIDGE, 'up'],
        ...nsBase(ext),
        ['ip', 'link', 'add', 'eth0', 'mtu', UNDERLAY_MTU, 'netns', ext, 'type', 'veth', 'peer', 'name', 'uext', 'mtu', UNDERLAY_MTU, 'netns', ul],
        ['ip', '-n', ul, 'link', 'set', 'uext', 'master', UNDERLAY_BRIDGE, 'up'],
        ['ip', '-n', ext, 'addr', 'add', `${EXTERNAL_IP}/${UNDERLAY_PREFIX}`, 'dev', 'eth0'],
        ['ip', '-n', ext, 'link', 'set', 'eth0', 'up'],
    ];
    for (const n of app.nodes) {
        const a = addressing.nodes[n.name];
        steps.push(['ip', '-n', ext, 'route', 'add', a.subnet, 'via', a.ip]);
    }
    return steps;
}
export function nodePlan(app, addressing, node) {
    const ns = nodeNs(app.name, node);
    const ul = underlayNs(app.name);
    const me = addressing.nodes[node];
    const uport = `u${me.index}`;
    const steps = [
        ...nsBase(ns),
        ['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.default.send_redirects=0'],
        // The gateway address lives on lo: the node answers ARP for it on every instance port.
        ['ip', '-n', ns, 'addr', 'add', `${me.gateway}/32`, 'dev', 'lo'],
        ['ip', 'link', 'add', UPLINK_IF, 'mtu', UNDERLAY_MTU, 'netns', ns, 'type', 'veth', 'peer', 'name', uport, 'mtu', UNDERLAY_MTU, 'netns', ul],
        ['ip', '-n', ul, 'link', 'set', uport, 'master', UNDERLAY_BRIDGE, 'up'],
        ['ip', '-n', ns, 'addr', 'add', `${me.ip}/${UNDERLAY_PREFIX}`, 'dev', UPLINK_IF],
        ['ip', '-n', ns, 'link', 'set', UPLINK_IF, 'up'],
    ];
    const others = app.nodes.filter((n) => n.name !== node);
    if (others.length) {
        steps.push(['ip', '-n', ns, 'link', 'add', VXLAN_IF, 'mtu', '1500', 'type', 'vxlan', 'id', '42', 'local', me.ip, 'dstport', String(VXLAN_PORT), 'dev', UPLINK_IF, 'nolearning'], ['ip', '-n', ns, 'addr', 'add', `${overlayIp(me.index)}/24`, 'dev', VXLAN_IF], ['ip', '-n', ns, 'link', 'set', VXLAN_IF, 'up']);
        for (const o of others) {
            const peer = addressing.nodes[o.name];
            // Head-end replication: broadcast (ARP on the overlay) goes to every other node.
            steps.push(['bridge', '-n', ns, 'fdb', 'append', '00:00:00:00:00:00', 'dev', VXLAN_IF, 'dst', peer.ip]);
            steps.push(['ip', '-n', ns, 'route', 'add', peer.subnet, 'via', overlayIp(peer.index), 'dev', VXLAN_IF]);
        }
    }
    return steps;
}
export function instancePlan(app, addressing, instance) {
    const at = addressing.instances[instance];
    const node = nodeNs(app.name, at.node);
    const ns = instanceNs(app.name, instance);
    const gw = addressing.nodes[at.node].gateway;
    return [
        ...nsBase(ns),
        ['ip', 'link', 'add', at.port, 'netns', node, 'type', 'veth', 'peer', 'name', INSTANCE_IF, 'netns', ns],
        ['ip', '-n', ns, 'link', 'set', INSTANCE_IF, 'address', at.mac],
        ['ip', '-n', ns, 'addr', 'add', `${at.ip}/32`, 'dev', INSTANCE_IF],
        ['ip', '-n', ns, 'link', 'set', INSTANCE_IF, 'up'],
        ['ip', '-n', ns, 'route', 'add', gw, 'dev', INSTANCE_IF],
        ['ip', '-n', ns, 'route', 'add', 'default', 'via', gw, 'dev', INSTANCE_IF],
        ['ip', '-n', node, 'link', 'set', at.port, 'up'],
        ['ip', '-n', node, 'route', 'add', `${at.ip}/32`, 'dev', at.port],
    ];
}
/** Detaches an instance from its node: the veth pair goes with either end. */
export function instanceUnplugPlan(app, addressing, instance) {
    const at = addressing.instances[instance];
    return [['ip', '-n', nodeNs(app.name, at.node), 'link', 'del', at.port]];
}
export function monitorPlan(app, addressing, monitor) {
    const at = addressing.monitors[monitor];
    const node = nodeNs(app.name, at.node);
    const ns = monitorNs(app.name, monitor);
    return [
        ...nsBase(ns),
        ['ip', 'link', 'add', at.port, 'netns', node, 'type', 'veth', 'peer', 'name', MONITOR_IF, 'netns', ns],
        ['ip', '-n', ns, 'link', 'set', MONITOR_IF, 'up'],
        ['ip', '-n', node, 'link', 'set', at.port, 'up'],
    ];
}
export function cloudPlan(app, addressing) {
    return [
        ...underlayPlan(app, addressing),
        ...app.nodes.flatMap((n) => nodePlan(app, addressing, n.name)),
        ...app.monitors.flatMap((m) => monitorPlan(app, addressing, m.name)),
        ...app.instances.flatMap((i) => instancePlan(app, addressing, i.name)),
    ];
}
//# sourceMappingURL=topology-plan.js.map