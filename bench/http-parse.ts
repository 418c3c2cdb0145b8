/**
 * HTTP/1.x parser throughput: synthetic pipelined request/response pairs delivered in 1460-byte
 * pieces (one TCP segment each), as the reassembler would. The baseline, measured in the same run,
 * is the least any parser must do: find the end of every message head with the native
 * `Buffer.indexOf` over the same pieces.
 */
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createHttpParser, type HttpSink } from '../src/monitor/http/index.js';
import { stat, type Stat } from './stats.js';

const MSS = 1460;
const BATCH = 100;

interface Piece {
  dir: 0 | 1;
  buf: Buffer;
  off: number;
  len: number;
}

function requestText(i: number): string {
  if (i % 3 === 0) {
    const body = JSON.stringify({ user: `user${i}`, dvd: i * 7, note: 'x'.repeat(i % 200) });
    return (
      `POST /api/rentals/${i} HTTP/1.1\r\nHost: rental.internal:8080\r\nUser-Agent: svc-contract/1.4\r\n` +
      `Content-Type: application/json\r\nAccept: application/json\r\nX-Request-Id: ${1e9 + i}\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${body}`
    );
  }
  return (
    `GET /api/dvds/${i}?fields=title,year HTTP/1.1\r\nHost: catalog.internal:8080\r\nUser-Agent: svc-shipping/2.0\r\n` +
    `Accept: application/json\r\nAccept-Encoding: gzip\r\nX-Request-Id: ${1e9 + i}\r\nConnection: keep-alive\r\n\r\n`
  );
}

function responseText(i: number): string {
  const body = JSON.stringify({ id: i, title: `Film ${i}`, year: 1990 + (i % 30), tags: ['a', 'b'] });
  if (i % 5 === 0) {
    const half = body.length >> 1;
    return (
      `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nServer: svc\r\n\r\n` +
      `${half.toString(16)}\r\n${body.slice(0, half)}\r\n${(body.length - half).toString(16)}\r\n${body.slice(half)}\r\n0\r\n\r\n`
    );
  }
  return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nServer: svc\r\nDate: Tue, 01 Jul 2025 10:00:00 GMT\r\n\r\n${body}`;
}

function cut(dir: 0 | 1, text: string | Buffer): Piece[] {
  const buf = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  const out: Piece[] = [];
  for (let off = 0; off < buf.length; off += MSS) out.push({ dir, buf, off, len: Math.min(MSS, buf.length - off) });
  return out;
}

/** One batch: the client pipelines BATCH requests, then the server answers them all. */
function batch(): { pieces: Piece[]; bytes: number } {
  let req = '';
  let res = '';
  for (let i = 0; i < BATCH; i++) {
    req += requestText(i);
    res += responseText(i);
  }
  const pieces = [...cut(0, req), ...cut(1, res)];
  return { pieces, bytes: req.length + res.length };
}

function timeParser(pieces: Piece[], rounds: number): { ms: number; requests: number; responses: number } {
  let requests = 0;
  let responses = 0;
  const sink: HttpSink = {
    requestDone: () => void requests++,
    responseDone: () => void responses++,
  };
  const parser = createHttpParser(sink);
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) for (const p of pieces) parser.data(p.dir, p.buf, p.off, p.len, r);
  parser.end(rounds);
  return { ms: performance.now() - t0, requests, responses };
}

function timeBaseline(pieces: Piece[], rounds: number): { ms: number; heads: number } {
  const views = pieces.map((p) => p.buf.subarray(p.off, p.off + p.len));
  let heads = 0;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (const v of views) {
      let i = v.indexOf('\r\n\r\n');
      while (i >= 0) {
        heads++;
        i = v.indexOf('\r\n\r\n', i + 4);
      }
    }
  }
  return { ms: performance.now() - t0, heads };
}

const ROUNDS = 5;

/** The same requests answered with gzip-coded JSON lists, which the parser measures decoded. */
function gzipBatch(): { pieces: Piece[]; decoded: number } {
  let req = '';
  const res: Buffer[] = [];
  let decoded = 0;
  for (let i = 0; i < BATCH; i++) {
    req += requestText(i);
    const body = JSON.stringify(Array.from({ length: 40 }, (_, k) => ({ id: i * 40 + k, title: `Film ${k}`, year: 1990 + (k % 30) })));
    const gz = gzipSync(body);
    decoded += body.length;
    const head = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`;
    res.push(Buffer.from(head, 'latin1'), gz);
  }
  return { pieces: [...cut(0, req), ...cut(1, Buffer.concat(res))], decoded };
}

export async function run(pairs = Number(process.env.HTTP_BENCH_PAIRS ?? 200_000)): Promise<string[]> {
  const { pieces, bytes } = batch();
  const rounds = Math.max(1, Math.round(pairs / BATCH));
  timeParser(pieces, Math.min(rounds, 50));
  const mb = (bytes * rounds) / 1e6;
  const pairsDone = BATCH * rounds;
  const parser: number[] = [];
  const base: number[] = [];
  let heads = 0;
  // Alternating parser and baseline rounds: both see the same machine load.
  for (let k = 0; k < ROUNDS; k++) {
    const p = timeParser(pieces, rounds);
    if (p.requests !== pairsDone || p.responses !== pairsDone) {
      return [`http-parse: FAILED, parsed ${p.requests} requests and ${p.responses} responses of ${pairsDone}`];
    }
    parser.push(mb / (p.ms / 1000));
    const b = timeBaseline(pieces, rounds);
    heads = b.heads;
    base.push(mb / (b.ms / 1000));
  }
  // Coded bodies, fewer of them: the cost of inflating next to the plain parse above.
  const gz = gzipBatch();
  const gzRounds = Math.max(1, Math.round(rounds / 10));
  const gzRate: number[] = [];
  for (let k = 0; k < ROUNDS; k++) {
    const p = timeParser(gz.pieces, gzRounds);
    if (p.responses !== BATCH * gzRounds) return [`http-parse: FAILED, gzip run parsed ${p.responses} responses of ${BATCH * gzRounds}`];
    gzRate.push((BATCH * gzRounds) / (p.ms / 1000));
  }
  const gs = stat(gzRate);
  const ps = stat(parser);
  const bs = stat(base);
  const ratio = stat(parser.map((x, i) => x / base[i]));
  const f = (s: Stat) => `${s.median.toFixed(1)} MB/s (${s.min.toFixed(1)}-${s.max.toFixed(1)})`;
  return [
    `http-parse: ${pairsDone} pipelined pairs, ${mb.toFixed(1)} MB in ${MSS}-byte pieces (${pieces.length * rounds} pieces), ${ROUNDS} rounds, median (min-max)`,
    `http-parse: parser   ${f(ps)}, ${Math.round((pairsDone * ps.median) / mb)} requests/s`,
    `http-parse: baseline ${f(bs)} (indexOf of head ends only, ${heads} found)`,
    `http-parse: parser/baseline throughput ratio ${ratio.median.toFixed(3)} (${ratio.min.toFixed(3)}-${ratio.max.toFixed(3)})`,
    `http-parse: gzip responses (${(gz.decoded / BATCH / 1024).toFixed(1)} KiB decoded each) ${Math.round(gs.median)} responses/s (${Math.round(gs.min)}-${Math.round(gs.max)}), ${((gs.median * gz.decoded) / BATCH / 1e6).toFixed(1)} MB/s inflated`,
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const line of await run()) console.log(line);
}
