import { nftIdent, nftSet, nftString } from './nft-names.js';
export const FIREWALL_TABLE = 'flowtap';
export function renderNftFirewall(ruleset, app, addressing, node, opts) {
    const table = opts.table ?? FIREWALL_TABLE;
    const audit = opts.mode === 'audit';
    const local = Object.values(addressing.instances)
        .filter((a) => a.node === node)
        .sort((a, b) => (a.instance < b.instance ? -1 : 1));
    const localNames = new Set(local.map((a) => a.instance));
    const isolatedIn = new Set(ruleset.isolated.ingress);
    const isolatedEg = new Set(ruleset.isolated.egress);
    const svcSets = new Map();
    const instanceIp = (name) => addressing.instances[name]?.ip;
    for (const r of ruleset.rules)
        if (r.peer.kind === 'service')
            svcSets.set(r.peer.service, []);
    for (const inst of app.instances) {
        const ip = instanceIp(inst.name);
        if (ip)
            svcSets.get(inst.service)?.push(ip);
    }
    const out = [];
    out.push(`table inet ${table} {`);
    for (const [svc, ips] of [...svcSets].sort()) {
        out.push(`  set svc_${nftIdent(svc)} {`, '    type ipv4_addr', '    flags interval');
        if (ips.length)
            out.push(`    elements = { ${ips.sort().join(', ')} }`);
        out.push('  }');
    }
    const ports = local.map((a) => `"${a.port}"`);
    out.push('  chain forward {', `    type filter hook forward priority filter; policy ${audit ? 'accept' : 'drop'};`);
    const cut = local.filter((a) => ruleset.quarantined?.includes(a.instance)).map((a) => `"${a.port}"`);
    if (cut.length) {
        // Before conntrack: quarantine also ends connections that were already established.
        out.push(`    iifname ${nftSet(cut)} counter ${audit ? 'log prefix "flowtap-audit quarantine " ' : ''}drop comment "quarantine"`);
        out.push(`    oifname ${nftSet(cut)} counter ${audit ? 'log prefix "flowtap-audit quarantine " ' : ''}drop comment "quarantine"`);
    }
    if (ruleset.base.established) {
        out.push('    ct state established,related counter accept comment "return traffic"');
        out.push(`    ct state invalid counter ${audit ? 'log prefix "flowtap-audit invalid " ' : ''}drop comment "invalid state"`);
    }
    if (local.length) {
        out.push(`    iifname vmap { ${local.map((a) => `"${a.port}" : jump eg_${nftIdent(a.instance)}`).join(', ')} }`);
        out.push(`    oifname vmap { ${local.map((a) => `"${a.port}" : jump in_${nftIdent(a.instance)}`).join(', ')} }`);
        if (opts.uplinks.length)
            out.push(`    iifname ${nftSet(ports)} oifname ${nftSet(opts.uplinks.map((u) => `"${u}"`))} counter accept comment "egress checked; remote node checks ingress"`);
    }
    out.push(`    counter ${audit ? 'log prefix "flowtap-audit default " ' : ''}comment "default deny"`, '  }');
    // Instances must not reach the node itself: it hosts the rules, taps and control plane.
    out.push('  chain input {', '    type filter hook input priority filter; policy accept;');
    if (local.length) {
        if (ruleset.base.dns)
            out.push(`    iifname ${nftSet(ports)} ip daddr ${ruleset.base.dns.ip} meta l4proto { tcp, udp } th dport ${ruleset.base.dns.port} accept comment "cluster resolver"`);
        out.push(`    iifname ${nftSet(ports)} counter drop comment "instances cannot reach the node"`);
    }
    out.push('  }');
    const rulesByChain = new Map();
    for (const r of ruleset.rules) {
        if (!localNames.has(r.target))
            continue;
        const key = `${r.direction}|${r.target}`;
        let list = rulesByChain.get(key);
        if (!list)
            rulesByChain.set(key, (list = []));
        list.push(r);
    }
    for (const a of local) {
        for (const direction of ['egress', 'ingress']) {
            const chain = `${direction === 'egress' ? 'eg' : 'in'}_${nftIdent(a.instance)}`;
            const allow = direction === 'egress' ? 'return' : 'accept';
            out.push(`  chain ${chain} {`);
            if (direction === 'egress' && ruleset.base.dns)
                out.push(`    ip daddr ${ruleset.base.dns.ip} meta l4proto { tcp, udp } th dport ${ruleset.base.dns.port} ${allow} comment "dns"`);
            for (const r of rulesByChain.get(`${direction}|${a.instance}`) ?? []) {
                const match = [peerMatch(r.peer, direction, ruleset.network, instanceIp), portMatch(r.protocol, r.ports)]
                    .filter(Boolean)
                    .join(' ');
                const verdict = r.action === 'accept' ? allow : audit ? `log prefix ${nftString(`flowtap-audit ${r.id} `)} ${allow}` : 'drop';
                out.push(`    ${match ? match + ' ' : ''}counter ${verdict} comment ${nftString(ruleComment(r))}`);
            }
            const isolated = direction === 'egress' ? isolatedEg.has(a.instance) : isolatedIn.has(a.instance);
            const dflt = !isolated ? allow : audit ? `log prefix ${nftString(`flowtap-audit ${chain} `)} ${allow}` : 'drop';
            out.push(`    counter ${dflt} comment ${nftString(`${chain} default`)}`, '  }');
        }
    }
    out.push('}');
    return out.join('\n') + '\n';
}
function ruleComment(r) {
    return `${r.id}${r.requirement !== undefined ? ` req${r.requirement}` : ''}${r.comment ? ` ${r.comment}` : ''}`.slice(0, 120);
}
function peerMatch(peer, direction, network, ipOf) {
    const field = direction === 'ingress' ? 'ip saddr' : 'ip daddr';
    switch (peer.kind) {
        case 'any':
            return '';
        case 'external':
            return `${field} != ${network}`;
        case 'service':
            return `${field} @svc_${nftIdent(peer.service)}`;
        case 'instances': {
            const ips = peer.instances.map(ipOf).filter((x) => !!x);
            // An empty selector matches nothing; 0.0.0.0/32 is never a real source or destination.
            return `${field} ${ips.length ? nftSet(ips) : '0.0.0.0/32'}`;
        }
        case 'cidr':
            return `${field} ${peer.cidr}${peer.except.length ? ` ${field} != ${nftSet(peer.except)}` : ''}`;
    }
}
function portMatch(protocol, ports) {
    const list = ports?.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`));
    if (protocol === 'any')
        return list ? `meta l4proto { tcp, udp } th dport ${nftSet(list)}` : '';
    return list ? `${protocol} dport ${nftSet(list)}` : `meta l4proto ${protocol}`;
}
//# sourceMappingURL=nft-firewall.js.map