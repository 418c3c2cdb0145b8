/** Test support: records parser events as plain data so runs over different splits compare equal. */
import { replayEverySplit, type Segment } from '../testing/index.js';
import { createHttpParser } from './http-parser.js';
import type { HttpOptions, HttpTransaction } from './types.js';

export type Event = [string, ...unknown[]];

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

export function recordHttp(opts: Partial<HttpOptions> = {}) {
  const events: Event[] = [];
  const body = (name: string, tx: HttpTransaction, chunk: Uint8Array) => {
    const last = events[events.length - 1];
    // Chunk boundaries depend on how the stream was cut; the bytes do not.
    if (last && last[0] === name && last[1] === tx.depth) last[2] = (last[2] as string) + text(chunk);
    else events.push([name, tx.depth, text(chunk)]);
  };
  const parser = createHttpParser(
    {
      request: (tx) =>
        events.push([
          'request',
          {
            depth: tx.depth,
            method: tx.method,
            uri: tx.uri,
            version: tx.version,
            host: tx.host,
            ua: tx.userAgent,
            headers: structuredClone(tx.headers),
          },
        ]),
      requestBody: (tx, c) => body('requestBody', tx, c),
      requestDone: (tx, len, prefix) =>
        events.push(['requestDone', tx.depth, len, text(prefix), tx.requestIncomplete, structuredClone(tx.requestTrailers)]),
      informational: (tx, status, reason, headers) => events.push(['informational', tx.depth, status, reason, structuredClone(headers)]),
      response: (tx, status, reason, headers) => events.push(['response', tx.depth, tx.method, status, reason, structuredClone(headers)]),
      responseBody: (tx, c) => body('responseBody', tx, c),
      responseDone: (tx, len) => events.push(['responseDone', tx.depth, len, tx.responseIncomplete, structuredClone(tx.responseTrailers)]),
      tunnel: (tx, kind) => events.push(['tunnel', tx.depth, kind]),
      weird: (name, detail, dir) => events.push(['weird', name, detail, dir]),
      desync: (tx, name) => events.push(['desync', tx?.depth ?? 0, name]),
    },
    opts,
  );
  return { parser, events };
}

export const c2s = (s: string | Uint8Array): Segment => ({ dir: 0, data: typeof s === 'string' ? Buffer.from(s, 'latin1') : s });
export const s2c = (s: string | Uint8Array): Segment => ({ dir: 1, data: typeof s === 'string' ? Buffer.from(s, 'latin1') : s });
export const gap = (dir: 0 | 1, len: number): Segment => ({ dir, gap: len });

/** Runs whole, byte by byte and in random splits; returns the events after checking they agree. */
export function runHttp(
  segments: Segment[],
  opts: Partial<HttpOptions> = {},
  check: (a: unknown, b: unknown, msg: string) => void,
): Event[] {
  const runs = replayEverySplit(() => recordHttp(opts), segments, [1, 2, 3, 4]);
  for (const run of runs.slice(1)) check(run.events, runs[0].events, `events differ between whole and ${run.split}`);
  return runs[0].events;
}

export const named = (events: Event[], name: string): Event[] => events.filter((e) => e[0] === name);
export const weirdNames = (events: Event[]): unknown[] => named(events, 'weird').map((e) => e[1]);
