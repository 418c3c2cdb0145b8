/**
 * IPv4 arithmetic on unsigned 32-bit integers. Addresses are planned as integers
 * and formatted once, so planning never re-parses strings.
 */
const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
/** Parses a dotted-quad; returns null for anything else (leading zeros are rejected: they read as octal elsewhere). */
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
    return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}
/** Parses `a.b.c.d/n` and insists that host bits are zero, so the written network is the real one. */
export function parseCidr(text) {
    const slash = text.indexOf('/');
    if (slash < 0)
        return { ok: false, reason: 'missing "/prefix"' };
    const ip = parseIpv4(text.slice(0, slash));
    if (ip === null)
        return { ok: false, reason: `"${text.slice(0, slash)}" is not an IPv4 address` };
    const prefixText = text.slice(slash + 1);
    if (!/^\d{1,2}$/.test(prefixText) || Number(prefixText) > 32) {
        return { ok: false, reason: `prefix "${prefixText}" is not a number from 0 to 32` };
    }
    const prefix = Number(prefixText);
    const size = cidrSize(prefix);
    const base = ip - (ip % size);
    if (base !== ip) {
        return { ok: false, reason: `host bits are set; did you mean ${formatIpv4(base)}/${prefix}?` };
    }
    return { ok: true, cidr: { base, prefix } };
}
/** Number of addresses in a block of this prefix length. */
export function cidrSize(prefix) {
    return 2 ** (32 - prefix);
}
export function cidrsOverlap(a, b) {
    const aEnd = a.base + cidrSize(a.prefix);
    const bEnd = b.base + cidrSize(b.prefix);
    return a.base < bEnd && b.base < aEnd;
}
export function formatCidr(c) {
    return `${formatIpv4(c.base)}/${c.prefix}`;
}
//# sourceMappingURL=ipv4.js.map