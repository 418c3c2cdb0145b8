import { cidrContains } from './cidr.js';
function ordered(cmp) {
    return (a) => {
        const x = a[0];
        const y = a[1];
        // Python (and so Congress) refuses to order a number against a string: no derivation.
        if (typeof x !== typeof y)
            return false;
        return cmp(x < y ? -1 : x > y ? 1 : 0);
    };
}
function arithmetic(name, f) {
    const compute = (a) => {
        const x = a[0];
        const y = a[1];
        if (typeof x !== 'number' || typeof y !== 'number')
            return undefined;
        const r = f(x, y);
        return Number.isFinite(r) ? r : undefined;
    };
    return {
        name,
        arity: 3,
        inputs: [0, 1],
        output: 2,
        compute,
        test: (a) => {
            const r = compute(a);
            return r !== undefined && r === a[2];
        },
    };
}
function portInRange(a) {
    const [p, lo, hi] = a;
    return typeof p === 'number' && typeof lo === 'number' && typeof hi === 'number' && lo <= p && p <= hi;
}
const SPECS = [
    { name: 'equal', arity: 2, inputs: [0, 1], unifies: true, test: (a) => a[0] === a[1] },
    { name: 'neq', arity: 2, inputs: [0, 1], test: (a) => a[0] !== a[1] },
    { name: 'lt', arity: 2, inputs: [0, 1], test: ordered((c) => c < 0) },
    { name: 'lteq', arity: 2, inputs: [0, 1], test: ordered((c) => c <= 0) },
    { name: 'gt', arity: 2, inputs: [0, 1], test: ordered((c) => c > 0) },
    { name: 'gteq', arity: 2, inputs: [0, 1], test: ordered((c) => c >= 0) },
    arithmetic('plus', (x, y) => x + y),
    arithmetic('minus', (x, y) => x - y),
    arithmetic('mul', (x, y) => x * y),
    {
        name: 'cidr_contains',
        arity: 2,
        inputs: [0, 1],
        test: (a) => typeof a[0] === 'string' && typeof a[1] === 'string' && cidrContains(a[0], a[1]),
    },
    { name: 'port_in_range', arity: 3, inputs: [0, 1, 2], test: portInRange },
];
export const BUILTINS = new Map(SPECS.map((s) => [s.name, s]));
/** Infix comparison operators and the builtin each one stands for. */
export const INFIX_BUILTINS = {
    '=': 'equal',
    '==': 'equal',
    '!=': 'neq',
    '<': 'lt',
    '<=': 'lteq',
    '>': 'gt',
    '>=': 'gteq',
};
/** The operator used when printing a builtin back in infix form. */
export const BUILTIN_INFIX = {
    equal: '=',
    neq: '!=',
    lt: '<',
    lteq: '<=',
    gt: '>',
    gteq: '>=',
};
export function isBuiltin(name) {
    return BUILTINS.has(name);
}
//# sourceMappingURL=builtins.js.map