/**
 * Shared inputs for the model tests: a small valid descriptor whose line numbers
 * the error tests rely on, and a way to find the example descriptors from a
 * compiled test, wherever it was compiled to.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BASE = [
  'tenant: acme', // 1
  'app: shop', // 2
  'nodes:', // 3
  '  - name: n1', // 4
  '  - name: n2', // 5
  'services:', // 6
  '  web:', // 7
  '    exposure: public', // 8
  '    ports:', // 9
  '      - {name: http, port: 80, app: http}', // 10
  '  db:', // 11
  '    placement: [n2]', // 12
  '    ports:', // 13
  '      - {name: pg, port: 5432, app: postgres}', // 14
  '  mq:', // 15
  '    ports:', // 16
  '      - {name: nats, port: 4222, app: nats}', // 17
  'monitors:', // 18
  '  - {name: m1, node: n1, capacity: 100, inspects: [http]}', // 19
  'requirements:', // 20
  '  - from: external', // 21
  '    to: web:http', // 22
  '    http: {methods: [GET], paths: [/]}', // 23
  '  - from: web', // 24
  '    to: db:pg', // 25
  '    sql: {statements: [SELECT], tables: [items]}', // 26
  '  - from: web', // 27
  '    to: mq:nats', // 28
  '    nats: {publish: [orders.new]}', // 29
  '',
].join('\n');

/** BASE with one line's text replaced; fails loudly if the line does not contain `find`. */
export function variant(line: number, find: string, replace: string, text = BASE): string {
  const lines = text.split('\n');
  if (!lines[line - 1].includes(find)) throw new Error(`line ${line} has no "${find}": ${lines[line - 1]}`);
  lines[line - 1] = lines[line - 1].replace(find, replace);
  return lines.join('\n');
}

/** 1-based column of the first `needle` on `line` of `text`. */
export function colOf(text: string, line: number, needle: string): number {
  const i = text.split('\n')[line - 1].indexOf(needle);
  if (i < 0) throw new Error(`line ${line} has no "${needle}"`);
  return i + 1;
}

/** Walks up from this file until `relative` exists: works from dist/ and from any build dir. */
export function findUp(relative: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find ${relative} above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
