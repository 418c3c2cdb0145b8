export function collector() {
    const packets = [];
    return { packets, onPacket: (p) => packets.push({ ...p, data: p.data.slice() }) };
}
/** Deterministic PRNG for tests (mulberry32). */
export function rng(seed) {
    let s = seed >>> 0;
    return () => {
        s = (s + 0x6d2b79f5) | 0;
        let t = Math.imul(s ^ (s >>> 15), s | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}
/** Split `bytes` into chunks of random sizes in [1, max]. */
export function randomChunks(bytes, max, rand) {
    const out = [];
    for (let off = 0; off < bytes.length;) {
        const n = 1 + Math.floor(rand() * max);
        out.push(bytes.subarray(off, Math.min(off + n, bytes.length)));
        off += n;
    }
    return out;
}
export function frameOf(n, len) {
    const b = new Uint8Array(len);
    for (let i = 0; i < len; i++)
        b[i] = (n * 31 + i) & 0xff;
    return b;
}
//# sourceMappingURL=capture-test-util.js.map