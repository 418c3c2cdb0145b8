import { pieceLoad } from './placement-flows.js';
import { portsThatFit } from './placement-slicing.js';
/**
 * Brings monitor `m` back within capacity by deactivating or trimming pieces of `onMonitor`
 * (kept in previous output order). Capacity is judged on the running sum in that order, which is
 * the order the pieces keep in the output. Returns the pieces that leave, for the `moved` report.
 */
export function evictOverload(pool, t, m, onMonitor) {
    const leaving = [];
    const amount = (h) => pieceLoad(t, h.flow, h.from, h.to);
    const total = () => {
        let s = 0;
        for (const h of onMonitor)
            if (h.active)
                s += amount(h);
        return s;
    };
    const limit = pool.caps[m];
    let sum = total();
    while (sum > limit) {
        const options = [];
        for (const h of onMonitor) {
            if (!h.active)
                continue;
            const a = amount(h);
            if (a <= 0)
                continue; // moving an idle piece frees nothing
            const others = sum - a;
            const grain = t.load[h.flow] / t.width[h.flow];
            const keep = t.flows[h.flow].sliceable && h.to > h.from
                ? portsThatFit(others, limit, t.load[h.flow], t.width[h.flow], h.to - h.from)
                : 0;
            const trimmed = keep > 0 ? a - pieceLoad(t, h.flow, h.from, h.from + keep - 1) : 0;
            if (trimmed > 0)
                options.push({ held: h, keep, cost: trimmed, grain });
            else if (others <= limit)
                options.push({ held: h, keep: 0, cost: a, grain });
        }
        let pick;
        if (options.length) {
            let least = Infinity;
            let grain = 0;
            for (const o of options) {
                least = Math.min(least, o.cost);
                if (o.keep > 0)
                    grain = Math.max(grain, o.grain);
            }
            // Trims differ by port granularity only; within it, prefer the flow that grew.
            const tie = least + Math.max(grain, 1e-9 * limit);
            for (const o of options) {
                if (o.cost > tie)
                    continue;
                if (!pick || o.held.growth > pick.held.growth)
                    pick = o;
            }
        }
        else {
            // No single piece covers the excess: the largest leaves and the search repeats.
            for (const h of onMonitor) {
                if (!h.active)
                    continue;
                if (!pick || amount(h) > amount(pick.held))
                    pick = { held: h, keep: 0, cost: amount(h), grain: 0 };
            }
        }
        if (!pick)
            break;
        const h = pick.held;
        if (pick.keep > 0) {
            leaving.push({ flow: h.flow, from: h.from + pick.keep, to: h.to });
            h.to = h.from + pick.keep - 1;
        }
        else {
            leaving.push({ flow: h.flow, from: h.from, to: h.to });
            h.active = false;
        }
        sum = total();
    }
    return leaving;
}
//# sourceMappingURL=placement-evict.js.map