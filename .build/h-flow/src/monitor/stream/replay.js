import { seededRandom } from './prng.js';
export const WHOLE = { kind: 'whole' };
export const BYTEWISE = { kind: 'bytes' };
export const randomSplit = (seed, maxPiece = 64) => ({ kind: 'random', seed, maxPiece });
/** Feeds `segments` to `parser` cut as `split` says, then ends the connection at `endTs`. */
export function replay(parser, segments, split, endTs = 0) {
    const rnd = split.kind === 'random' ? seededRandom(split.seed) : null;
    for (const seg of segments) {
        const ts = seg.ts ?? 0;
        if ('gap' in seg) {
            parser.gap(seg.dir, seg.gap);
            continue;
        }
        const data = seg.data;
        if (split.kind === 'whole') {
            parser.data(seg.dir, data, 0, data.length, ts);
        }
        else if (split.kind === 'bytes') {
            for (let i = 0; i < data.length; i++)
                parser.data(seg.dir, data, i, 1, ts);
        }
        else if (rnd) {
            const maxPiece = Math.max(1, split.maxPiece ?? 64);
            let i = 0;
            while (i < data.length) {
                const n = Math.min(data.length - i, 1 + Math.floor(rnd() * maxPiece));
                const pad = Math.floor(rnd() * 8);
                const holder = new Uint8Array(pad + n + 8);
                for (let k = 0; k < holder.length; k++)
                    holder[k] = 0x41 + Math.floor(rnd() * 26);
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
export function replayEverySplit(create, segments, seeds = [1, 2, 3], endTs = 0) {
    const splits = [
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
//# sourceMappingURL=replay.js.map