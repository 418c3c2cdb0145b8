import { pieceLoad } from './placement-flows.js';
import { portShare } from './placement-slicing.js';
function groupByFlow(items, flows) {
    const groups = Array.from({ length: flows }, () => []);
    for (const it of items)
        groups[it.flow].push(it);
    for (const g of groups)
        if (g.length > 1)
            g.sort((a, b) => a.from - b.from);
    return groups;
}
export function assemblePlacement(t, pool, placed, leftovers) {
    const nFlows = t.flows.length;
    const assignments = new Array(placed.length);
    const sums = new Float64Array(pool.count);
    let crossLoad = 0;
    let totalLoad = 0;
    for (let f = 0; f < nFlows; f++)
        totalLoad += t.load[f];
    for (let i = 0; i < placed.length; i++) {
        const p = placed[i];
        const f = p.flow;
        const flow = t.flows[f];
        const share = portShare(p.from, p.to, t.width[f]);
        const load = share * t.load[f];
        const crossNode = pool.nodes[p.monitor] !== flow.node;
        const a = { flow: flow.id, monitor: pool.names[p.monitor], share, crossNode, load };
        if (p.from !== t.lo[f] || p.to !== t.hi[f])
            a.slice = { kind: 'src-port', from: p.from, to: p.to };
        assignments[i] = a;
        sums[p.monitor] += load;
        if (crossNode)
            crossLoad += load;
    }
    const unplaced = [];
    const leftBy = groupByFlow(leftovers, nFlows);
    for (let f = 0; f < nFlows; f++) {
        const left = leftBy[f];
        if (!left.length)
            continue;
        let load = 0;
        const reasons = [];
        for (const l of left) {
            load += pieceLoad(t, f, l.from, l.to);
            if (!reasons.includes(l.reason))
                reasons.push(l.reason);
        }
        const u = { flow: t.flows[f].id, load, reason: reasons.join('; ') };
        if (left.length > 1 || left[0].from !== t.lo[f] || left[0].to !== t.hi[f]) {
            u.slices = left.map((l) => ({ kind: 'src-port', from: l.from, to: l.to }));
        }
        unplaced.push(u);
    }
    const monitorLoad = Object.fromEntries(pool.names.map((name, m) => [name, sums[m]]));
    return { assignments, unplaced, monitorLoad, crossNodeShare: totalLoad > 0 ? crossLoad / totalLoad : 0 };
}
//# sourceMappingURL=placement-assemble.js.map