/**
 * Chain semantics of the abstract ruleset (see types.ts): rules of one (target,
 * direction) in array order, first match wins, default drop if the target is
 * isolated in that direction, else accept.
 *
 * Two entry points: `evaluateChain` decides one packet and names the deciding rule
 * (for `explain`); `compileRuleset` + `walkChain` compute, for one peer, the whole set
 * of ports per protocol a chain lets through (for reachability), without enumerating ports.
 */
import { ALL_CONNS, NO_CONNS, connIntersect, connIsEmpty, connOf, connSubtract, connUnion, } from './conn-set.js';
import { ALL_IPV4, cidrInterval, cidrSet, ipSetContains, ipSetCovers, parseIpv4, subtractIps, } from './ip-range.js';
import { containsPort, portSetOf } from './port-set.js';
export function serviceOfInstanceName(instance) {
    const m = /-\d+$/.exec(instance);
    return m ? instance.slice(0, m.index) : instance;
}
/**
 * Decides one packet. A peer without instance and ip stands for an outside address
 * that no narrower block singles out: it matches `external`, `any`, and `cidr` peers
 * that cover the whole outside space. Pass `ip` to ask about a specific address.
 */
export function evaluateChain(ruleset, target, direction, peer, protocol, port) {
    const network = networkSet(ruleset.network);
    const ip = peer.ip !== undefined ? parseIpv4(peer.ip) : null;
    const service = peer.instance !== undefined ? (peer.service ?? serviceOfInstanceName(peer.instance)) : undefined;
    const outsideSpace = subtractIps(ALL_IPV4, network);
    const matches = (p) => {
        switch (p.kind) {
            case 'any':
                return true;
            case 'service':
                return service !== undefined && p.service === service;
            case 'instances':
                return peer.instance !== undefined && p.instances.includes(peer.instance);
            case 'external':
                return peer.instance === undefined && (ip === null || !ipSetContains(network, ip));
            case 'cidr': {
                const set = cidrSet(p.cidr, p.except);
                if (!set)
                    return false;
                if (ip !== null)
                    return ipSetContains(set, ip);
                return peer.instance === undefined && peer.ip === undefined && ipSetCovers(set, outsideSpace);
            }
        }
    };
    for (const rule of ruleset.rules) {
        if (rule.target !== target || rule.direction !== direction)
            continue;
        if (rule.protocol !== 'any' && rule.protocol !== protocol)
            continue;
        if (rule.ports !== null && !containsPort(portSetOf(rule.ports), port))
            continue;
        if (!matches(rule.peer))
            continue;
        return { action: rule.action, rule, defaulted: false };
    }
    const isolated = ruleset.isolated[direction].includes(target);
    return { action: isolated ? 'drop' : 'accept', defaulted: true };
}
export function chainKey(direction, target) {
    return direction === 'ingress' ? `i ${target}` : `e ${target}`;
}
export function compileRuleset(ruleset) {
    const chains = new Map();
    const blocks = [];
    const rules = ruleset.rules.map((rule, index) => {
        const key = chainKey(rule.direction, rule.target);
        let list = chains.get(key);
        if (!list)
            chains.set(key, (list = []));
        list.push(index);
        const base = { rule, index, accept: rule.action === 'accept', conns: connOf(rule.protocol, portSetOf(rule.ports)), peer: rule.peer };
        if (rule.peer.kind === 'instances')
            return { ...base, instances: new Set(rule.peer.instances) };
        if (rule.peer.kind === 'cidr') {
            for (const text of [rule.peer.cidr, ...rule.peer.except]) {
                const iv = cidrInterval(text);
                if (iv)
                    blocks.push(iv);
            }
            return { ...base, ips: cidrSet(rule.peer.cidr, rule.peer.except) ?? [] };
        }
        return base;
    });
    return {
        rules,
        chains,
        isolated: { ingress: new Set(ruleset.isolated.ingress), egress: new Set(ruleset.isolated.egress) },
        network: networkSet(ruleset.network),
        blocks,
    };
}
export function startWalk() {
    return { allowed: NO_CONNS, undecided: ALL_CONNS };
}
/** Applies one rule that matches the peer; returns true once every connection is decided. */
export function stepWalk(walk, rule) {
    const selected = connIntersect(walk.undecided, rule.conns);
    if (connIsEmpty(selected))
        return false;
    if (rule.accept)
        walk.allowed = connUnion(walk.allowed, selected);
    walk.undecided = connSubtract(walk.undecided, selected);
    return connIsEmpty(walk.undecided);
}
export function finishWalk(walk, isolated) {
    return isolated ? walk.allowed : connUnion(walk.allowed, walk.undecided);
}
/** Everything the chain lets through for a peer that the given rules (of the chain, in order) describe. */
export function walkChain(compiled, indices, isolated, matches) {
    const walk = startWalk();
    if (indices) {
        for (const i of indices) {
            const rule = compiled.rules[i];
            if (matches(rule) && stepWalk(walk, rule))
                break;
        }
    }
    return finishWalk(walk, isolated);
}
function networkSet(network) {
    const iv = cidrInterval(network);
    return iv ? [iv] : [];
}
//# sourceMappingURL=chain-eval.js.map