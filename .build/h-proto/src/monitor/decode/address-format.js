/** Dotted quad from a uint32 (for logs; not for the hot path). */
export function formatIpv4(n) {
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
/** RFC 5952 text from four 32-bit words: lowercase, longest zero run as `::`, IPv4-mapped as dotted quad. */
export function formatIpv6(w) {
    const g = [];
    for (let i = 0; i < 4; i++)
        g.push((w[i] >>> 16) & 0xffff, w[i] & 0xffff);
    if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
        return `::ffff:${formatIpv4(w[3] >>> 0)}`;
    }
    let bestStart = -1;
    let bestLen = 0;
    for (let i = 0; i < 8;) {
        if (g[i] !== 0) {
            i++;
            continue;
        }
        let j = i;
        while (j < 8 && g[j] === 0)
            j++;
        if (j - i > bestLen && j - i >= 2) {
            bestStart = i;
            bestLen = j - i;
        }
        i = j;
    }
    const hex = (a) => a.map((x) => x.toString(16)).join(':');
    if (bestStart < 0)
        return hex(g);
    return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}
export function formatSrcAddr(dp) {
    return dp.ipVersion === 6 ? formatIpv6(dp.src6) : formatIpv4(dp.src4);
}
export function formatDstAddr(dp) {
    return dp.ipVersion === 6 ? formatIpv6(dp.dst6) : formatIpv4(dp.dst4);
}
/** Parse a dotted quad; null when it is not one. */
export function parseIpv4(s) {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
    if (!m)
        return null;
    let n = 0;
    for (let i = 1; i <= 4; i++) {
        const v = Number(m[i]);
        if (v > 255)
            return null;
        n = n * 256 + v;
    }
    return n;
}
/** Parse IPv6 text (with `::` and an optional trailing dotted quad) into four words; null when invalid. */
export function parseIpv6(s) {
    let text = s;
    const tail = [];
    const lastColon = text.lastIndexOf(':');
    if (lastColon >= 0 && text.includes('.', lastColon)) {
        const v4 = parseIpv4(text.slice(lastColon + 1));
        if (v4 === null)
            return null;
        tail.push(v4 >>> 16, v4 & 0xffff);
        text = text.slice(0, lastColon + 1);
        if (!text.endsWith('::'))
            text = text.slice(0, -1);
    }
    const halves = text.split('::');
    if (halves.length > 2)
        return null;
    const parse = (part) => {
        if (part === '')
            return [];
        const out = [];
        for (const h of part.split(':')) {
            if (!/^[0-9a-fA-F]{1,4}$/.test(h))
                return null;
            out.push(parseInt(h, 16));
        }
        return out;
    };
    const head = parse(halves[0]);
    const rest = halves.length === 2 ? parse(halves[1]) : [];
    if (!head || !rest)
        return null;
    const known = head.length + rest.length + tail.length;
    if (halves.length === 1 ? known !== 8 : known > 7)
        return null;
    const groups = [...head, ...new Array(8 - known).fill(0), ...rest, ...tail];
    const w = new Uint32Array(4);
    for (let i = 0; i < 4; i++)
        w[i] = ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0;
    return w;
}
//# sourceMappingURL=address-format.js.map