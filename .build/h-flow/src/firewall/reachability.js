import { chainKey, compileRuleset, finishWalk, startWalk, stepWalk, walkChain, } from './chain-eval.js';
import { ALL_CONNS, NO_CONNS, connEquals, connIntersect, connIsEmpty, connUnion, connectionsOf, } from './conn-set.js';
import { formatInterval, ipSetContains, parseIpv4, partitionByBlocks, subtractIps, } from './ip-range.js';
export const EXTERNAL_PEER = 'external';
export function computeReachability(ruleset, app, addressing, opts = {}) {
    const ctx = buildContext(ruleset, app, addressing, opts.externalAs ?? 'peer');
    const n = ctx.names.length;
    const egress = new Array(n);
    const ingress = new Array(n);
    for (let i = 0; i < n; i++) {
        egress[i] = summarize(ctx, i, 'egress');
        ingress[i] = summarize(ctx, i, 'ingress');
    }
    const value = (s, d) => connIntersect(peerValue(egress[s], d, ctx), peerValue(ingress[d], s, ctx));
    // First pass: per service pair, is every instance pair alike? Only a summary is kept.
    const S = ctx.serviceNames.length;
    const pairs = new Map();
    const record = (s, d, c) => {
        if (connIsEmpty(c))
            return;
        const key = ctx.serviceOf[s] * S + ctx.serviceOf[d];
        const agg = pairs.get(key);
        if (!agg)
            pairs.set(key, { conn: c, count: 1, uniform: true });
        else {
            agg.count++;
            if (agg.uniform && !connEquals(agg.conn, c))
                agg.uniform = false;
        }
    };
    for (let s = 0; s < n; s++) {
        const named = egress[s].named;
        if (!named)
            continue;
        for (const [d, e] of named)
            if (d !== s)
                record(s, d, connIntersect(e, peerValue(ingress[d], s, ctx)));
    }
    for (let d = 0; d < n; d++) {
        const named = ingress[d].named;
        if (!named)
            continue;
        for (const [s, i] of named) {
            if (s === d || egress[s].named?.has(d))
                continue;
            record(s, d, connIntersect(otherValue(egress[s], d, ctx), i));
        }
    }
    const openEgress = [];
    const openIngress = [];
    for (let i = 0; i < n; i++) {
        if (letsOthersThrough(egress[i]))
            openEgress.push(i);
        if (letsOthersThrough(ingress[i]))
            openIngress.push(i);
    }
    for (const s of openEgress) {
        const namedE = egress[s].named;
        for (const d of openIngress) {
            if (s === d || namedE?.has(d) || ingress[d].named?.has(s))
                continue;
            record(s, d, connIntersect(otherValue(egress[s], d, ctx), otherValue(ingress[d], s, ctx)));
        }
    }
    const out = [];
    for (const [key, agg] of pairs) {
        const ss = Math.floor(key / S);
        const ds = key % S;
        const srcMembers = ctx.members[ss];
        const dstMembers = ctx.members[ds];
        const expected = srcMembers.length * dstMembers.length - (ss === ds ? srcMembers.length : 0);
        if (agg.uniform && agg.count === expected) {
            out.push(...connectionsOf(ctx.serviceNames[ss], ctx.serviceNames[ds], agg.conn));
        }
        else {
            out.push(...splitPair(ctx, srcMembers, dstMembers, ctx.serviceNames[ss], ctx.serviceNames[ds], value));
        }
    }
    // Outside peers: only the instance's own chain decides.
    const classes = opts.externalAs === 'ip-ranges'
        ? ctx.outside.map((cl, c) => ({ label: cl.label, pick: (sum) => sum.outside[c] }))
        : ctx.outside.length
            ? [{ label: EXTERNAL_PEER, pick: (sum) => sum.outside.reduce(connUnion, NO_CONNS) }]
            : [];
    for (const cl of classes) {
        for (let sv = 0; sv < S; sv++) {
            const members = ctx.members[sv];
            if (members.length === 0)
                continue;
            const inbound = members.map((d) => cl.pick(ingress[d]));
            out.push(...aggregateOutside(ctx, members, inbound, sv, (x) => [cl.label, x]));
            const outbound = members.map((s) => cl.pick(egress[s]));
            out.push(...aggregateOutside(ctx, members, outbound, sv, (x) => [x, cl.label]));
        }
    }
    return out.sort(compareConnections);
}
function buildContext(ruleset, app, addressing, mode) {
    const compiled = compileRuleset(ruleset);
    const names = app.instances.map((i) => i.name);
    const indexOf = new Map();
    names.forEach((name, i) => indexOf.set(name, i));
    const serviceIndex = new Map();
    const serviceNames = [];
    const members = [];
    const addService = (name) => {
        let idx = serviceIndex.get(name);
        if (idx === undefined) {
            idx = serviceNames.length;
            serviceIndex.set(name, idx);
            serviceNames.push(name);
            members.push([]);
        }
        return idx;
    };
    for (const s of app.services)
        addService(s.name);
    const serviceOf = new Int32Array(names.length);
    app.instances.forEach((inst, i) => {
        const sv = addService(inst.service);
        serviceOf[i] = sv;
        members[sv].push(i);
    });
    const ips = new Float64Array(names.length);
    names.forEach((name, i) => {
        const text = addressing.instances[name]?.ip;
        const ip = text !== undefined ? parseIpv4(text) : null;
        ips[i] = ip === null ? -1 : ip;
    });
    // Instance address segments: the same cut as outside classes, so a `cidr` rule either
    // contains a whole segment or none of it.
    const segments = compiled.blocks.length ? partitionByBlocks(compiled.blocks) : [{ lo: 0, hi: 0xffffffff }];
    const segmentOf = new Int32Array(names.length);
    const segmentProbe = new Map();
    for (let i = 0; i < names.length; i++) {
        segmentOf[i] = ips[i] < 0 ? -1 : findSegment(segments, ips[i]);
        if (!segmentProbe.has(segmentOf[i]))
            segmentProbe.set(segmentOf[i], ips[i]);
    }
    return {
        compiled,
        names,
        indexOf,
        serviceOf,
        serviceNames,
        serviceIndex,
        members,
        ips,
        segmentOf,
        segmentProbe,
        outside: outsideClasses(compiled, mode),
    };
}
function outsideClasses(compiled, mode) {
    const network = compiled.network;
    // The application network is not a cut of its own: analyzers name ranges by the
    // blocks policies mention, and the network's addresses are reported as instances.
    const netBlock = network[0];
    const blocks = compiled.blocks.filter((b) => !(netBlock && b.lo === netBlock.lo && b.hi === netBlock.hi));
    const pieces = blocks.length ? partitionByBlocks(blocks) : [{ lo: 0, hi: 0xffffffff }];
    const out = [];
    for (const piece of pieces) {
        const outsidePart = subtractIps([piece], network);
        if (outsidePart.length === 0)
            continue;
        out.push({ label: mode === 'ip-ranges' ? formatInterval(piece) : EXTERNAL_PEER, representative: outsidePart[0].lo });
    }
    return out;
}
function findSegment(segments, ip) {
    let lo = 0;
    let hi = segments.length - 1;
    while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (segments[mid].lo <= ip)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}
function summarize(ctx, self, direction) {
    const { compiled } = ctx;
    const name = ctx.names[self];
    const indices = compiled.chains.get(chainKey(direction, name));
    const isolated = compiled.isolated[direction].has(name);
    const fallback = isolated ? NO_CONNS : ALL_CONNS;
    if (!indices) {
        return { named: null, other: fallback, otherBySegment: null, outside: ctx.outside.map(() => fallback) };
    }
    const generic = [];
    const perInstance = new Map();
    let hasCidr = false;
    const mention = (m, i) => {
        if (m === undefined)
            return;
        const list = perInstance.get(m);
        if (!list)
            perInstance.set(m, [i]);
        else if (list[list.length - 1] !== i)
            list.push(i);
    };
    for (const i of indices) {
        const peer = compiled.rules[i].peer;
        if (peer.kind === 'service') {
            const sv = ctx.serviceIndex.get(peer.service);
            if (sv !== undefined)
                for (const m of ctx.members[sv])
                    mention(m, i);
        }
        else if (peer.kind === 'instances') {
            for (const inst of peer.instances)
                mention(ctx.indexOf.get(inst), i);
        }
        else {
            if (peer.kind === 'cidr')
                hasCidr = true;
            generic.push(i);
        }
    }
    let named = null;
    if (perInstance.size) {
        named = new Map();
        for (const [m, list] of perInstance) {
            named.set(m, walkMerged(compiled, list, generic, isolated, (r) => instanceMatchesGeneric(r, ctx.ips[m])));
        }
    }
    let other = fallback;
    let otherBySegment = null;
    if (!hasCidr) {
        other = walkChain(compiled, generic, isolated, (r) => r.peer.kind === 'any');
    }
    else {
        otherBySegment = new Map();
        for (const [seg, probe] of ctx.segmentProbe) {
            otherBySegment.set(seg, walkChain(compiled, generic, isolated, (r) => instanceMatchesGeneric(r, probe)));
        }
    }
    const outside = generic.length
        ? ctx.outside.map((cl) => walkChain(compiled, generic, isolated, (r) => {
            const kind = r.peer.kind;
            return kind === 'any' || kind === 'external' || (kind === 'cidr' && ipSetContains(r.ips, cl.representative));
        }))
        : ctx.outside.map(() => fallback);
    return { named, other, otherBySegment, outside };
}
function instanceMatchesGeneric(rule, ip) {
    const kind = rule.peer.kind;
    if (kind === 'any')
        return true;
    if (kind === 'cidr')
        return ip >= 0 && ipSetContains(rule.ips, ip);
    return false; // `external` never matches an instance of the application
}
/** Walks two ascending lists of rule indices of one chain in ruleset order. */
function walkMerged(compiled, namedRules, generic, isolated, genericMatches) {
    const walk = startWalk();
    let a = 0;
    let b = 0;
    while (a < namedRules.length || b < generic.length) {
        if (b >= generic.length || (a < namedRules.length && namedRules[a] < generic[b])) {
            if (stepWalk(walk, compiled.rules[namedRules[a++]]))
                break;
        }
        else {
            const rule = compiled.rules[generic[b++]];
            if (genericMatches(rule) && stepWalk(walk, rule))
                break;
        }
    }
    return finishWalk(walk, isolated);
}
function otherValue(sum, peer, ctx) {
    if (!sum.otherBySegment)
        return sum.other;
    return sum.otherBySegment.get(ctx.segmentOf[peer]) ?? sum.other;
}
function peerValue(sum, peer, ctx) {
    return sum.named?.get(peer) ?? otherValue(sum, peer, ctx);
}
function letsOthersThrough(sum) {
    if (!sum.otherBySegment)
        return !connIsEmpty(sum.other);
    for (const c of sum.otherBySegment.values())
        if (!connIsEmpty(c))
            return true;
    return false;
}
/**
 * Instances of a service pair disagree: report per source instance if each source
 * treats all destinations alike, else per destination instance, else per pair.
 */
function splitPair(ctx, srcs, dsts, srcService, dstService, value) {
    const matrix = srcs.map((s) => dsts.map((d) => (s === d ? null : value(s, d))));
    const uniform = (cells) => {
        let first;
        for (const c of cells) {
            if (c === null)
                continue;
            if (first === undefined)
                first = c;
            else if (!connEquals(first, c))
                return undefined;
        }
        return first ?? NO_CONNS;
    };
    const out = [];
    const rows = matrix.map(uniform);
    if (rows.every((r) => r !== undefined)) {
        rows.forEach((c, i) => out.push(...connectionsOf(ctx.names[srcs[i]], dstService, c)));
        return out;
    }
    const cols = dsts.map((_, j) => uniform(matrix.map((row) => row[j])));
    if (cols.every((c) => c !== undefined)) {
        cols.forEach((c, j) => out.push(...connectionsOf(srcService, ctx.names[dsts[j]], c)));
        return out;
    }
    matrix.forEach((row, i) => row.forEach((c, j) => {
        if (c)
            out.push(...connectionsOf(ctx.names[srcs[i]], ctx.names[dsts[j]], c));
    }));
    return out;
}
function aggregateOutside(ctx, members, values, service, ends) {
    if (values.every((v) => connEquals(v, values[0]))) {
        const [src, dst] = ends(ctx.serviceNames[service]);
        return connectionsOf(src, dst, values[0]);
    }
    const out = [];
    members.forEach((m, i) => {
        const [src, dst] = ends(ctx.names[m]);
        out.push(...connectionsOf(src, dst, values[i]));
    });
    return out;
}
const PROTOCOL_ORDER = { any: 0, tcp: 1, udp: 2 };
function compareConnections(a, b) {
    if (a.src !== b.src)
        return a.src < b.src ? -1 : 1;
    if (a.dst !== b.dst)
        return a.dst < b.dst ? -1 : 1;
    return PROTOCOL_ORDER[a.protocol] - PROTOCOL_ORDER[b.protocol];
}
//# sourceMappingURL=reachability.js.map