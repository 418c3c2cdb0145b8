import zlib from 'node:zlib';

export const CODING_NONE = 0;
export const CODING_GZIP = 1;
/** `deflate`: RFC 9110 says zlib-wrapped, but some servers send raw deflate; the first bytes tell. */
export const CODING_DEFLATE = 2;

/**
 * The content coding to undo from a Content-Encoding value (several fields already joined with
 * `, `). Only a single gzip/x-gzip/deflate coding is undone (`identity` entries ignored): with
 * stacked or unknown codings the body is measured as sent.
 */
export function contentCoding(value: string): number {
  if (value === '') return CODING_NONE;
  let found = CODING_NONE;
  for (const part of value.split(',')) {
    const c = part.trim().toLowerCase();
    if (c === '' || c === 'identity') continue;
    const k = c === 'gzip' || c === 'x-gzip' ? CODING_GZIP : c === 'deflate' ? CODING_DEFLATE : -1;
    if (k < 0 || found !== CODING_NONE) return CODING_NONE;
    found = k;
  }
  return found;
}

export const DECODE_OK = 0;
export const DECODE_BOMB = 1;
const DECODE_FAILED = 2;

/** Below this many decoded bytes the ratio is not judged: small, very repetitive bodies are normal. */
const RATIO_FLOOR = 1024 * 1024;
/**
 * Decoded bytes are only counted and handed on during the call, so every decoder writes into the
 * same scratch buffer: per body in flight, only zlib's own state (about 40 KB) remains.
 */
const scratch = Buffer.allocUnsafe(16 * 1024);

/**
 * Bodies being inflated at once, across all connections: zlib's state is the memory an attacker
 * could multiply by opening connections, so beyond this bodies are measured as sent.
 */
const MAX_ACTIVE_DECODERS = 2048;
let active = 0;

/** Decoders holding zlib state now (tests check that every body's decoder is released). */
export function activeDecoders(): number {
  return active;
}

/**
 * The parts of node's zlib objects that let one inflate a stream synchronously piece by piece
 * (what `zlib.*Sync` do internally, minus closing after one buffer). The engine is synchronous
 * (a packet in, its logs out), so the asynchronous stream API would report sizes too late.
 */
interface NativeZlib {
  _handle: {
    writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
    onerror: (message: string, errno: number) => void;
  } | null;
  _writeState: Uint32Array;
  close(): void;
  reset(): void;
}

const KIND_GUNZIP = 0;
const KIND_INFLATE = 1;
const KIND_RAW = 2;
/**
 * Streams that finished a body cleanly, reset for the next one: creating a zlib stream costs
 * far more than inflating a small body, so without this many small coded replies would be a
 * cheap way to slow the monitor down.
 */
const pools: NativeZlib[][] = [[], [], []];
const POOL_SIZE = 16;

function create(kind: number): NativeZlib {
  const z = kind === KIND_GUNZIP ? zlib.createGunzip() : kind === KIND_INFLATE ? zlib.createInflate() : zlib.createInflateRaw();
  return z as unknown as NativeZlib;
}

/** Whether this node exposes what BodyDecoder needs; without it bodies are measured as sent. */
export const canDecode: boolean = (() => {
  try {
    const z = zlib.createInflateRaw() as unknown as NativeZlib;
    const ok = typeof z._handle?.writeSync === 'function' && z._writeState instanceof Uint32Array && typeof z.reset === 'function';
    z.close();
    return ok;
  } catch {
    return false;
  }
})();

/**
 * Inflates one message body as it arrives, handing decoded bytes to `out` (a view valid during
 * the call) and refusing to produce more than the limits allow.
 */
export class BodyDecoder {
  private z: NativeZlib | null = null;
  private kind = KIND_GUNZIP;
  private failure = '';
  private first = -1;
  encoded = 0;
  decoded = 0;

  constructor(
    private readonly coding: number,
    private readonly maxDecoded: number,
    private readonly maxRatio: number,
  ) {}

  /** Why the last push failed (zlib's message). */
  get error(): string {
    return this.failure;
  }

  /** Decodes `buf[s, e)`: DECODE_OK, or why decoding must stop (the decoder is then closed). */
  push(buf: Uint8Array, s: number, e: number, out: (b: Buffer, n: number) => void): number {
    if (e <= s) return DECODE_OK;
    if (this.z === null) {
      if (this.coding === CODING_DEFLATE && this.first < 0 && e - s === 1) {
        // The wrapper check needs two bytes; a body cut after one byte is rare enough to wait.
        this.first = buf[s];
        this.encoded++;
        return DECODE_OK;
      }
      if (active >= MAX_ACTIVE_DECODERS) return this.fail(`more than ${MAX_ACTIVE_DECODERS} bodies being decoded at once`);
      const b0 = this.first >= 0 ? this.first : buf[s];
      const b1 = this.first >= 0 ? buf[s] : buf[s + 1];
      this.z = this.open(b0, b1);
      active++;
      if (this.first >= 0) {
        const r = this.run(Buffer.of(this.first), 0, 1, out);
        if (r !== DECODE_OK) return r;
      }
    }
    this.encoded += e - s;
    return this.run(buf, s, e, out);
  }

  close(): void {
    const z = this.z;
    this.z = null;
    if (z === null) return;
    active--;
    const pool = pools[this.kind];
    // A stream that failed is not trusted again.
    if (this.failure === '' && z._handle !== null && pool.length < POOL_SIZE) {
      z.reset();
      pool.push(z);
    } else z.close();
  }

  private open(b0: number, b1: number): NativeZlib {
    if (this.coding === CODING_GZIP) this.kind = KIND_GUNZIP;
    else if ((b0 & 0x0f) === 8 && b0 >> 4 <= 7 && ((b0 << 8) | b1) % 31 === 0) this.kind = KIND_INFLATE;
    else this.kind = KIND_RAW;
    const n = pools[this.kind].pop() ?? create(this.kind);
    // Errors are read after each call; without this zlib would also emit them as an event nobody handles.
    if (n._handle) {
      n._handle.onerror = (message) => {
        this.failure = message || 'zlib error';
      };
    }
    return n;
  }

  private run(buf: Uint8Array, s: number, e: number, out: (b: Buffer, n: number) => void): number {
    const z = this.z;
    const h = z?._handle;
    if (!z || !h) return this.fail('zlib stream closed');
    let inOff = s;
    let inLen = e - s;
    const o = scratch;
    for (;;) {
      h.writeSync(zlib.constants.Z_SYNC_FLUSH, buf, inOff, inLen, o, 0, o.length);
      if (this.failure !== '') return this.fail(this.failure);
      const outLeft = z._writeState[0];
      const inLeft = z._writeState[1];
      const n = o.length - outLeft;
      if (n > 0) {
        this.decoded += n;
        out(o, n);
        if (this.decoded > this.maxDecoded || (this.decoded > RATIO_FLOOR && this.decoded > this.maxRatio * this.encoded)) {
          this.close();
          return DECODE_BOMB;
        }
      }
      inOff += inLen - inLeft;
      inLen = inLeft;
      // A full output buffer means zlib may hold more; otherwise all input it could use is used.
      if (outLeft !== 0) {
        // Input left means the stream ended before the body did (zlib takes further gzip members
        // in stride). Whether such bytes arrive in this call or the next depends on the cut, so
        // both are the same failure.
        return inLeft > 0 ? this.fail('data after the end of the compressed stream') : DECODE_OK;
      }
    }
  }

  private fail(message: string): number {
    this.failure = message;
    this.close();
    return DECODE_FAILED;
  }
}
