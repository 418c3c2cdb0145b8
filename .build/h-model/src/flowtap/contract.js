import { printFlow } from './flow-print.js';
function formatOptions(c) {
    const parts = [`direction=${c.direction}`];
    const o = c.options;
    if (o.sample)
        parts.push(`sample=1/${o.sample.every}${o.sample.unit === 'flow' ? 'flows' : 'packets'}`);
    if (o.budget)
        parts.push(`budget=${o.budget.rate}${o.budget.unit}`);
    if (o.failMode)
        parts.push(`failMode=${o.failMode}`);
    return parts.join(' ');
}
/** `FlowTap(SRC, DST, "flow", action)`; with `details`, direction and options follow in brackets. */
export function formatContract(c, opts = {}) {
    const base = `FlowTap(${c.src}, ${c.dst}, "${printFlow(c.flow)}", ${c.action})`;
    return opts.details ? `${base} [${formatOptions(c)}]` : base;
}
/** The contract's id and text, as diagnostics name it. */
export function describeContract(c) {
    return `contract ${c.id} ${formatContract(c)}`;
}
/** Where the contract's policy rule is, if it came from one. */
export function contractLocation(c) {
    const o = c.origin;
    if (!o || (o.policyFile === undefined && o.line === undefined))
        return undefined;
    const loc = {};
    if (o.policyFile !== undefined)
        loc.file = o.policyFile;
    if (o.line !== undefined)
        loc.line = o.line;
    return loc;
}
/** The directions both contracts tap, or undefined when they share none. */
export function sharedDirection(a, b) {
    if (a === 'both')
        return b;
    if (b === 'both' || a === b)
        return a;
    return undefined;
}
//# sourceMappingURL=contract.js.map