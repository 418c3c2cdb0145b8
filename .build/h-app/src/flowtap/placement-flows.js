import { srcPortRange } from './placement-slicing.js';
export function flowTable(flows) {
    const n = flows.length;
    const t = {
        flows,
        lo: new Int32Array(n),
        hi: new Int32Array(n),
        width: new Int32Array(n),
        load: new Float64Array(n),
        byId: new Map(),
    };
    for (let i = 0; i < n; i++) {
        const f = flows[i];
        const [lo, hi] = srcPortRange(f);
        t.lo[i] = lo;
        t.hi[i] = hi;
        t.width[i] = hi - lo + 1;
        t.load[i] = f.load;
        t.byId.set(f.id, i);
    }
    return t;
}
/**
 * Mbit/s of ports `from..to` of flow `f`. Always computed as share × load, the same expression a
 * reader of the output uses, so whole pieces cost exactly the flow's load.
 */
export function pieceLoad(t, f, from, to) {
    return ((to - from + 1) / t.width[f]) * t.load[f];
}
export function isWholePiece(t, p) {
    return p.from === t.lo[p.flow] && p.to === t.hi[p.flow];
}
/** A piece can be split when its flow allows it and it spans more than one port. */
export function canSplit(t, p) {
    return t.flows[p.flow].sliceable && p.to > p.from;
}
//# sourceMappingURL=placement-flows.js.map