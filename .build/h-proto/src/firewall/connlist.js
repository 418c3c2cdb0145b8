/**
 * Connection lists in the form Kubernetes network-policy analyzers (np-guard's
 * netpol-analyzer `list`) print: one line per (src, dst) pair,
 * `src => dst : conn`, sorted; workloads as `ns/name[Kind]`, address ranges as
 * `a.b.c.d-e.f.g.h`, connections as `TCP 80,443`, `TCP 1000-2000,UDP 53` or
 * `All Connections`. The JSON form is `[{src, dst, conn}]` in the same order.
 */
import { connIsAll, connOfConnections } from './conn-set.js';
import { formatPorts } from './port-set.js';
export function connlistEntries(conns, opts = {}) {
    const byPair = new Map();
    for (const c of conns) {
        const key = `${c.src}\u0000${c.dst}`;
        const pair = byPair.get(key);
        if (pair)
            pair.list.push(c);
        else
            byPair.set(key, { src: c.src, dst: c.dst, list: [c] });
    }
    const label = (name) => endpointLabel(name, opts.kinds);
    const out = [];
    for (const { src, dst, list } of byPair.values()) {
        const conn = formatConn(connOfConnections(list));
        if (conn !== NO_CONNECTIONS)
            out.push({ src: label(src), dst: label(dst), conn });
    }
    return out.sort((a, b) => compare(lineOf(a), lineOf(b)));
}
export function formatConnlist(conns, style, opts = {}) {
    const entries = connlistEntries(conns, opts);
    if (style === 'json')
        return JSON.stringify(entries, null, 2);
    return entries.map(lineOf).join('\n');
}
export const ALL_CONNECTIONS = 'All Connections';
export const NO_CONNECTIONS = 'No Connections';
export function formatConn(c) {
    if (connIsAll(c))
        return ALL_CONNECTIONS;
    const parts = [];
    if (c.tcp.length)
        parts.push(`TCP ${formatPorts(c.tcp)}`);
    if (c.udp.length)
        parts.push(`UDP ${formatPorts(c.udp)}`);
    return parts.length ? parts.join(',') : NO_CONNECTIONS;
}
function endpointLabel(name, kinds) {
    if (!kinds)
        return name;
    if (Object.hasOwn(kinds, name))
        return `${name}[${kinds[name]}]`;
    const m = /-\d+$/.exec(name);
    if (m) {
        const service = name.slice(0, m.index);
        if (Object.hasOwn(kinds, service))
            return `${name}[${kinds[service]}]`;
    }
    return name;
}
function lineOf(e) {
    return `${e.src} => ${e.dst} : ${e.conn}`;
}
function compare(a, b) {
    return a < b ? -1 : a > b ? 1 : 0;
}
//# sourceMappingURL=connlist.js.map