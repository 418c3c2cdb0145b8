import { writeFile } from 'node:fs/promises';
import { put16, put32 } from './byte-order.js';
function splitTs(ts, nano) {
    const scale = nano ? 1e9 : 1e6;
    let sec = Math.floor(ts);
    let frac = Math.round((ts - sec) * scale);
    if (frac >= scale) {
        sec += 1;
        frac -= scale;
    }
    return [sec >>> 0, frac >>> 0];
}
export function encodePcapHeader(opts = {}) {
    const le = !opts.bigEndian;
    const h = new Uint8Array(24);
    put32(h, 0, opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, le);
    put16(h, 4, 2, le);
    put16(h, 6, 4, le);
    put32(h, 16, opts.snaplen ?? 262144, le);
    put32(h, 20, opts.linktype ?? 1, le);
    return h;
}
/** Write one record into `out` at `off`; returns the offset after it. */
export function encodePcapRecordInto(out, off, rec, opts = {}) {
    const le = !opts.bigEndian;
    const [sec, frac] = splitTs(rec.ts, !!opts.nano);
    put32(out, off, sec, le);
    put32(out, off + 4, frac, le);
    put32(out, off + 8, rec.data.length, le);
    put32(out, off + 12, rec.origlen ?? rec.data.length, le);
    out.set(rec.data, off + 16);
    return off + 16 + rec.data.length;
}
/** A whole classic pcap file in memory. */
export function encodePcap(records, opts = {}) {
    let size = 24;
    for (const r of records)
        size += 16 + r.data.length;
    const out = new Uint8Array(size);
    out.set(encodePcapHeader(opts), 0);
    let off = 24;
    for (const r of records)
        off = encodePcapRecordInto(out, off, r, opts);
    return out;
}
/** Write a classic pcap file. */
export async function writePcap(path, records, opts = {}) {
    await writeFile(path, encodePcap(records, opts));
}
//# sourceMappingURL=pcap-writer.js.map