import type { DiagCode } from '../../diagnostics/index.js';
import { u16, u32 } from './byte-order.js';
import { FRAME_FATAL, type RecordFormat, type RecordSink } from './record-format.js';

export const PCAPNG_SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const OBSOLETE_PB = 0x00000002;
const SPB = 0x00000003;
const EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const OPT_END = 0;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

interface Interface extends Resolution {
  linktype: number;
  snaplen: number;
  /** Seconds added to every timestamp. */
  offset: number;
  /** The last high word seen at or above 2^21, split as whole seconds + remaining units. */
  hi: number;
  hiSeconds: number;
  hiRest: number;
}

/** What if_tsresol says: 10^-n seconds, or 2^-n with the high bit set. */
interface Resolution {
  /** Units per second as a double (exact for 2^n and for 10^n up to n = 22)... */
  unitsPerSecond: number;
  /** ...and exactly, with its bit length. */
  units: bigint;
  unitBits: bigint;
  /** How seconds are computed (see `seconds`). */
  mode: typeof POW2 | typeof DECIMAL | typeof EXACT;
  /** For 2^-n: the seconds of one unit of the high and of the low word, both exact. */
  hiScale: number;
  loScale: number;
}

const POW2 = 0;
const DECIMAL = 1;
const EXACT = 2;
/** Past 10^15 units per second, hiRest + lo no longer fits a double's 53 bits. */
const MAX_DECIMAL = 15;

export function tsresol(v: number): Resolution {
  const n = v & 0x7f;
  const units = v & 0x80 ? 1n << BigInt(n) : 10n ** BigInt(n);
  const common = { units, unitBits: BigInt(units.toString(2).length), hiScale: 0, loScale: 0 };
  if (v & 0x80) return { ...common, unitsPerSecond: 2 ** n, mode: POW2, hiScale: 2 ** (32 - n), loScale: 2 ** -n };
  return { ...common, unitsPerSecond: 10 ** n, mode: n <= MAX_DECIMAL ? DECIMAL : EXACT };
}

/** Below this high word the 64-bit count fits a double's 53 bits exactly. */
const EXACT_HI = 2 ** 21;

/**
 * Seconds of a 64-bit count of units, rounded to the nearest double. (hi * 2^32 + lo) / units
 * rounds twice above 2^53 units (any nanosecond time after April 1970), and a fifth of nanosecond
 * timestamps came out one ulp off. Powers of two scale each word exactly and round once, in
 * the sum. Powers of ten up to 10^15 split hi * 2^32 exactly (BigInt) into whole seconds and
 * remaining units, cached because the high word changes only every 2^32 units (4 s in
 * nanoseconds); the rounding of the fraction can then tip the sum only within 2^-54 s of a tie.
 * Finer decimal units divide exactly in BigInt, per packet.
 */
function seconds(iface: Interface, hi: number, lo: number): number {
  if (iface.mode === POW2) return hi * iface.hiScale + lo * iface.loScale;
  if (iface.mode === EXACT) return exactQuotient((BigInt(hi) << 32n) | BigInt(lo), iface.units, iface.unitBits);
  if (hi < EXACT_HI) return (hi * 4294967296 + lo) / iface.unitsPerSecond;
  if (hi !== iface.hi) {
    const t = BigInt(hi) << 32n;
    iface.hiSeconds = Number(t / iface.units);
    iface.hiRest = Number(t % iface.units);
    iface.hi = hi;
  }
  return iface.hiSeconds + (iface.hiRest + lo) / iface.unitsPerSecond;
}

/**
 * t / u to the nearest double: a quotient of at least 64 bits, its lowest bit set when the
 * division left a remainder, so Number() rounds as the exact quotient would.
 */
function exactQuotient(t: bigint, u: bigint, uBits: bigint): number {
  if (t === 0n) return 0;
  const k = 64n + uBits;
  const scaled = t << k;
  let q = scaled / u;
  if (q * u !== scaled) q |= 1n;
  return Number(q) * 2 ** -Number(k);
}

/** pcapng: typed, length-framed blocks; sections (SHB) set byte order and reset interfaces. */
export class PcapngFormat implements RecordFormat {
  skippable = false;
  private le = true;
  private interfaces: Interface[] = [];
  /** Byte order found while framing an SHB, applied when it is consumed. */
  private shbLe = true;
  /** SPBs carry no timestamp: they inherit the last one so timeouts still advance sensibly. */
  private lastTs = 0;

  constructor(
    private readonly sink: RecordSink,
    private readonly maxBlock: number,
  ) {}

  frame(b: Uint8Array, off: number, avail: number): number {
    this.skippable = false;
    if (avail < 8) return 12;
    const type = u32(b, off, this.le);
    let len: number;
    if (type === PCAPNG_SHB) {
      if (avail < 12) return 12;
      if (u32(b, off + 8, true) === BYTE_ORDER_MAGIC) this.shbLe = true;
      else if (u32(b, off + 8, false) === BYTE_ORDER_MAGIC) this.shbLe = false;
      else return this.corrupt('E_PCAPNG_BOM', 'section header block has no valid byte-order magic');
      len = u32(b, off + 4, this.shbLe);
      if (len < 28) return this.corrupt('E_PCAPNG_BLOCK_LEN', `section header block length ${len} is below the minimum of 28`);
    } else {
      len = u32(b, off + 4, this.le);
      if (len < 12)
        return this.corrupt('E_PCAPNG_BLOCK_LEN', `block of type 0x${type.toString(16)} has length ${len}, below the minimum of 12`);
      this.skippable = type !== IDB && type !== EPB && type !== SPB && type !== OBSOLETE_PB;
    }
    if (len % 4 !== 0) return this.corrupt('E_PCAPNG_BLOCK_LEN', `block length ${len} is not a multiple of 4`);
    if (len > this.maxBlock) return this.corrupt('E_PCAPNG_BLOCK_LEN', `block length ${len} exceeds the limit of ${this.maxBlock}`);
    return len;
  }

  consume(b: Uint8Array, off: number, len: number): void {
    const type = u32(b, off, this.le);
    if (type === PCAPNG_SHB) {
      this.le = this.shbLe;
      this.interfaces = [];
    }
    if (u32(b, off + len - 4, this.le) !== len) {
      this.corrupt(
        'E_PCAPNG_TRAILER',
        `block of type 0x${type.toString(16)}: trailing length ${u32(b, off + len - 4, this.le)} differs from leading length ${len}`,
      );
      return;
    }
    switch (type) {
      case IDB:
        this.readInterface(b, off, len);
        break;
      case EPB:
        this.readEnhanced(b, off, len);
        break;
      case SPB:
        this.readSimple(b, off, len);
        break;
      case OBSOLETE_PB:
        this.readObsolete(b, off, len);
        break;
      // SHB body (version, section length, options) holds nothing we need; unknown blocks are skipped.
    }
  }

  private corrupt(code: DiagCode, message: string): number {
    this.sink.fatal(code, `${message}: the file is corrupt from here on`, this.sink.nextIndex);
    return FRAME_FATAL;
  }

  private readInterface(b: Uint8Array, off: number, len: number): void {
    if (len < 20) {
      this.sink.error('E_PCAPNG_IDB', `interface description block of ${len} bytes is too short`);
      return;
    }
    const iface: Interface = {
      linktype: u16(b, off + 8, this.le),
      snaplen: u32(b, off + 12, this.le),
      ...tsresol(6),
      offset: 0,
      hi: -1,
      hiSeconds: 0,
      hiRest: 0,
    };
    const end = off + len - 4;
    let p = off + 16;
    while (p + 4 <= end) {
      const code = u16(b, p, this.le);
      const olen = u16(b, p + 2, this.le);
      if (code === OPT_END) break;
      if (p + 4 + olen > end) {
        this.sink.error('E_PCAPNG_OPTION', `interface ${this.interfaces.length}: option ${code} runs past the end of its block`);
        break;
      }
      if (code === IF_TSRESOL && olen >= 1) {
        Object.assign(iface, tsresol(b[p + 4]));
      } else if (code === IF_TSOFFSET && olen >= 8) {
        // A signed 64-bit count of seconds in section byte order; the high word carries the sign.
        const lo = u32(b, this.le ? p + 4 : p + 8, this.le);
        const hi = u32(b, this.le ? p + 8 : p + 4, this.le) | 0;
        iface.offset = hi * 4294967296 + lo;
      }
      p += 4 + ((olen + 3) & ~3);
    }
    this.interfaces.push(iface);
  }

  private iface(id: number): Interface | undefined {
    const iface = this.interfaces[id];
    if (!iface)
      this.sink.dropPacket('E_PCAPNG_INTERFACE', `packet refers to interface ${id}, but the section declares ${this.interfaces.length}`);
    return iface;
  }

  private readEnhanced(b: Uint8Array, off: number, len: number): void {
    if (len < 32) {
      this.sink.dropPacket('E_PCAPNG_EPB', `enhanced packet block of ${len} bytes is too short`);
      return;
    }
    const le = this.le;
    const caplen = u32(b, off + 20, le);
    if (caplen > len - 32) {
      this.sink.dropPacket('E_PCAPNG_CAPLEN', `captured length ${caplen} exceeds the ${len - 32} bytes of its block`);
      return;
    }
    const iface = this.iface(u32(b, off + 8, le));
    if (!iface) return;
    const ts = iface.offset + seconds(iface, u32(b, off + 12, le), u32(b, off + 16, le));
    this.lastTs = ts;
    const orig = Math.max(u32(b, off + 24, le), caplen);
    this.sink.emit(ts, iface.linktype, b, off + 28, caplen, orig, u32(b, off + 8, le));
  }

  private readObsolete(b: Uint8Array, off: number, len: number): void {
    if (len < 32) {
      this.sink.dropPacket('E_PCAPNG_PB', `packet block of ${len} bytes is too short`);
      return;
    }
    const le = this.le;
    const caplen = u32(b, off + 20, le);
    if (caplen > len - 32) {
      this.sink.dropPacket('E_PCAPNG_CAPLEN', `captured length ${caplen} exceeds the ${len - 32} bytes of its block`);
      return;
    }
    const id = u16(b, off + 8, le);
    const iface = this.iface(id);
    if (!iface) return;
    const ts = iface.offset + seconds(iface, u32(b, off + 12, le), u32(b, off + 16, le));
    this.lastTs = ts;
    this.sink.emit(ts, iface.linktype, b, off + 28, caplen, Math.max(u32(b, off + 24, le), caplen), id);
  }

  private readSimple(b: Uint8Array, off: number, len: number): void {
    if (len < 16) {
      this.sink.dropPacket('E_PCAPNG_SPB', `simple packet block of ${len} bytes is too short`);
      return;
    }
    const iface = this.iface(0);
    if (!iface) return;
    const orig = u32(b, off + 8, this.le);
    let caplen = Math.min(orig, len - 16);
    if (iface.snaplen > 0) caplen = Math.min(caplen, iface.snaplen);
    this.sink.emit(this.lastTs, iface.linktype, b, off + 12, caplen, orig, 0);
  }
}
