/**
 * Test tooling for stream parsers: replaying a recorded conversation cut in every way a
 * reassembler may deliver it, and mutating conversations for fuzzing. Only tests and bench/
 * import this file.
 */
import { seededRng } from '../../random/index.js';
import type { Dir, StreamParser } from '../stream/index.js';

/** One step of a recorded conversation: bytes of one direction, or a hole in it. */
export type Segment = { dir: Dir; data: Uint8Array; ts?: number } | { dir: Dir; gap: number; ts?: number };

/**
 * How each segment is cut into the pieces a reassembler might deliver.
 * `random` also places every piece at a random offset inside a larger buffer filled with junk,
 * and scribbles over that buffer after the call: a parser that reads outside `[off, off+len)`
 * or keeps a reference to the caller's buffer then produces different events.
 */
export type Split = { kind: 'whole' } | { kind: 'bytes' } | { kind: 'random'; seed: number; maxPiece?: number };

export const WHOLE: Split = { kind: 'whole' };
export const BYTEWISE: Split = { kind: 'bytes' };
export const randomSplit = (seed: number, maxPiece = 64): Split => ({ kind: 'random', seed, maxPiece });

/** Feeds `segments` to `parser` cut as `split` says, then ends the connection at `endTs`. */
export function replay(parser: StreamParser, segments: readonly Segment[], split: Split, endTs = 0): void {
  const rnd = split.kind === 'random' ? seededRng(split.seed) : null;
  for (const seg of segments) {
    const ts = seg.ts ?? 0;
    if ('gap' in seg) {
      parser.gap(seg.dir, seg.gap);
      continue;
    }
    const data = seg.data;
    if (split.kind === 'whole') {
      parser.data(seg.dir, data, 0, data.length, ts);
    } else if (split.kind === 'bytes') {
      for (let i = 0; i < data.length; i++) parser.data(seg.dir, data, i, 1, ts);
    } else if (rnd) {
      const maxPiece = Math.max(1, split.maxPiece ?? 64);
      let i = 0;
      while (i < data.length) {
        const n = Math.min(data.length - i, 1 + Math.floor(rnd() * maxPiece));
        const pad = Math.floor(rnd() * 8);
        const holder = new Uint8Array(pad + n + 8);
        for (let k = 0; k < holder.length; k++) holder[k] = 0x41 + Math.floor(rnd() * 26);
        holder.set(data.subarray(i, i + n), pad);
        parser.data(seg.dir, holder, pad, n, ts);
        holder.fill(0x5a);
        i += n;
      }
    }
  }
  parser.end(endTs);
}

/**
 * Runs the same conversation whole, byte by byte and in random splits (one per seed), each on a
 * fresh parser from `create`, and returns each run's recorded events: all must be equal.
 */
export function replayEverySplit<E>(
  create: () => { parser: StreamParser; events: E[] },
  segments: readonly Segment[],
  seeds: readonly number[] = [1, 2, 3],
  endTs = 0,
): { split: string; events: E[] }[] {
  const splits: { name: string; split: Split }[] = [
    { name: 'whole', split: WHOLE },
    { name: 'bytes', split: BYTEWISE },
    ...seeds.map((s) => ({ name: `random(${s})`, split: randomSplit(s, 1 + (s % 7) * 9) })),
  ];
  return splits.map(({ name, split }) => {
    const run = create();
    replay(run.parser, segments, split, endTs);
    return { split: name, events: run.events };
  });
}

/**
 * Structure-aware mutation for fuzzing the parsers: starts from valid conversations and damages
 * them the way hostile peers and lossy taps do (flipped bytes, spliced protocol tokens, cuts).
 */
export function mutate(rnd: () => number, input: Uint8Array, dictionary: readonly Uint8Array[]): Uint8Array {
  let out = Array.from(input);
  const rounds = 1 + Math.floor(rnd() * 4);
  for (let r = 0; r < rounds; r++) {
    const at = Math.floor(rnd() * (out.length + 1));
    switch (Math.floor(rnd() * 7)) {
      case 0:
        if (out.length) out[Math.min(at, out.length - 1)] = Math.floor(rnd() * 256);
        break;
      case 1: {
        const tok = dictionary[Math.floor(rnd() * dictionary.length)];
        if (tok) out.splice(at, 0, ...tok);
        break;
      }
      case 2:
        out.splice(at, 1 + Math.floor(rnd() * 16));
        break;
      case 3: {
        const from = Math.floor(rnd() * out.length);
        const piece = out.slice(from, from + 1 + Math.floor(rnd() * 64));
        out.splice(at, 0, ...piece);
        break;
      }
      case 4:
        out = out.slice(0, at);
        break;
      case 5: {
        const n = 1 + Math.floor(rnd() * 32);
        for (let i = 0; i < n; i++) out.splice(at, 0, Math.floor(rnd() * 256));
        break;
      }
      default: {
        const tok = dictionary[Math.floor(rnd() * dictionary.length)];
        if (tok) out.splice(at, tok.length, ...tok);
      }
    }
  }
  return Uint8Array.from(out);
}

export function randomBytes(rnd: () => number, maxLen: number): Uint8Array {
  const n = Math.floor(rnd() * maxLen);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rnd() * 256);
  return out;
}
