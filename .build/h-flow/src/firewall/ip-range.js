/**
 * IPv4 address sets as sorted, disjoint inclusive intervals of unsigned 32-bit
 * integers. CIDR blocks with exceptions (Kubernetes ipBlock, ruleset `cidr` peers)
 * become interval lists, and the outside address space is cut into the disjoint
 * intervals that every mentioned block boundary induces.
 */
export const MAX_IPV4 = 0xffffffff;
export const ALL_IPV4 = Object.freeze([Object.freeze({ lo: 0, hi: MAX_IPV4 })]);
const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
export function parseIpv4(text) {
    const m = DOTTED.exec(text);
    if (!m)
        return null;
    let value = 0;
    for (let i = 1; i <= 4; i++) {
        const part = m[i];
        if (part.length > 1 && part[0] === '0')
            return null;
        const octet = Number(part);
        if (octet > 255)
            return null;
        value = value * 256 + octet;
    }
    return value;
}
export function formatIpv4(value) {
    return `${Math.floor(value / 16777216) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}
/** `a.b.c.d-e.f.g.h`, the spelling Kubernetes network-policy analyzers print. */
export function formatInterval(iv) {
    return `${formatIpv4(iv.lo)}-${formatIpv4(iv.hi)}`;
}
/** The block's first and last address; host bits are ignored. Null if the text is not `a.b.c.d/n`. */
export function cidrInterval(text) {
    const slash = text.indexOf('/');
    if (slash < 0)
        return null;
    const ip = parseIpv4(text.slice(0, slash));
    const prefixText = text.slice(slash + 1);
    if (ip === null || !/^\d{1,2}$/.test(prefixText))
        return null;
    const prefix = Number(prefixText);
    if (prefix > 32)
        return null;
    const size = 2 ** (32 - prefix);
    const lo = ip - (ip % size);
    return { lo, hi: lo + size - 1 };
}
/** `cidr` minus every `except` block; null if any of them does not parse. */
export function cidrSet(cidr, except = []) {
    const base = cidrInterval(cidr);
    if (!base)
        return null;
    let set = [base];
    for (const e of except) {
        const iv = cidrInterval(e);
        if (!iv)
            return null;
        set = subtractIps(set, [iv]);
    }
    return set;
}
export function ipSetContains(set, ip) {
    let lo = 0;
    let hi = set.length - 1;
    while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const iv = set[mid];
        if (ip < iv.lo)
            hi = mid - 1;
        else if (ip > iv.hi)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}
/** True when every address of `a` is in `b`. */
export function ipSetCovers(b, a) {
    return subtractIps(a, b).length === 0;
}
export function subtractIps(a, b) {
    if (a.length === 0 || b.length === 0)
        return a;
    const out = [];
    let j = 0;
    for (const r of a) {
        let lo = r.lo;
        while (j < b.length && b[j].hi < lo)
            j++;
        let k = j;
        while (k < b.length && b[k].lo <= r.hi) {
            if (b[k].lo > lo)
                out.push({ lo, hi: b[k].lo - 1 });
            lo = Math.max(lo, b[k].hi + 1);
            if (b[k].hi >= r.hi)
                break;
            k++;
        }
        if (lo <= r.hi)
            out.push({ lo, hi: r.hi });
    }
    return out;
}
/**
 * Cuts the whole IPv4 space at every block boundary: each block [lo, hi] starts a
 * piece at lo and another at hi+1. The pieces are the coarsest partition in which
 * every listed block is a union of pieces.
 */
export function partitionByBlocks(blocks) {
    const cuts = new Set([0]);
    for (const b of blocks) {
        cuts.add(b.lo);
        if (b.hi < MAX_IPV4)
            cuts.add(b.hi + 1);
    }
    const starts = [...cuts].sort((x, y) => x - y);
    return starts.map((lo, i) => ({ lo, hi: i + 1 < starts.length ? starts[i + 1] - 1 : MAX_IPV4 }));
}
//# sourceMappingURL=ip-range.js.map