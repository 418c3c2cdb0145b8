/**
 * Datalog evaluation benchmark: transitive closure, semi-naive against the naive
 * baseline, measured in the same process on the same inputs.
 *
 *   node dist/bench/datalog.js
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/index.js';
import { checkProgram, evaluate, formatFact, parseProgram, type CheckedProgram, type Fact, type Value } from '../src/datalog/index.js';
import { unwrap } from '../src/diagnostics/index.js';
import { seededRng } from '../src/random/index.js';
import { stat, type Stat } from './stats.js';

const TC = `
path(X, Y) :- edge(X, Y).
path(X, Z) :- path(X, Y), edge(Y, Z).
`;

/** Full chain size, and the prefix on which the naive evaluator is affordable. */
const CHAIN_NODES = 2000;
const CHAIN_NAIVE_NODES = 500;
/** Random DAG: each edge i -> j has i < j <= i + SPAN, which keeps the closure near 1.7M tuples. */
const DAG_NODES = 2000;
const DAG_EDGES = 10_000;
const DAG_SPAN = 200;

function chain(n: number): Fact[] {
  const facts: Fact[] = [];
  for (let i = 0; i + 1 < n; i++) facts.push({ pred: 'edge', args: [i, i + 1] });
  return facts;
}

/** Seeded: the same graph on every run. */
const rng = seededRng;

function randomDag(nodes: number, edges: number, span: number, seed: number): [number, number][] {
  const r = rng(seed);
  const seen = new Set<number>();
  const out: [number, number][] = [];
  while (out.length < edges) {
    const a = Math.floor(r() * nodes);
    const b = a + 1 + Math.floor(r() * span);
    if (b >= nodes || seen.has(a * nodes + b)) continue;
    seen.add(a * nodes + b);
    out.push([a, b]);
  }
  return out;
}

const toFacts = (edges: [number, number][]): Fact[] => edges.map(([a, b]) => ({ pred: 'edge', args: [a, b] }));

interface Measure {
  input: string;
  evaluator: 'semi-naive' | 'naive';
  edges: number;
  tuples: number;
  iterations: number;
  ms: number;
  perSec: number;
}

function measure(p: CheckedProgram, input: string, facts: Fact[], naive: boolean): Measure {
  const t0 = performance.now();
  // A benchmark, not a command: the CLI bounds (10 s, 512 MB) would cut the naive baseline short on a busy machine.
  const db = unwrap(evaluate(p, facts, { naive, maxSeconds: 600, maxMb: 8192 }));
  const ms = performance.now() - t0;
  return {
    input,
    evaluator: naive ? 'naive' : 'semi-naive',
    edges: facts.length,
    tuples: db.count('path'),
    iterations: db.stats.iterations,
    ms,
    perSec: db.stats.derived / (ms / 1000),
  };
}

function table(rows: Measure[], ratios: Map<Measure, number>): string[] {
  const header = ['input', 'evaluator', 'edges', 'path tuples', 'iterations', 'time ms', 'derived/s', 'speedup'];
  const cells = rows.map((m) => [
    m.input,
    m.evaluator,
    String(m.edges),
    String(m.tuples),
    String(m.iterations),
    m.ms.toFixed(0),
    Math.round(m.perSec).toLocaleString('en-US'),
    ratios.has(m) ? `${(ratios.get(m) as number).toFixed(1)}x` : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]): string => c.map((s, i) => (i < 2 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
}

/** Generated facts, as `ftc` and `policy eval` users feed them: about 4 MB of each kind. */
const PARSE_FACTS = 200_000;
const PARSE_ROUNDS = 5;

/**
 * Parsing throughput on generated facts, against JSON.parse of the same tuples as an array
 * (the fastest parser a Node program has at hand), both measured in the same rounds.
 */
function parseThroughput(): string[] {
  const inputs = [
    {
      name: 'edge("nI","nJ"). strings',
      dl: Array.from({ length: PARSE_FACTS }, (_, i) => `edge("n${i}","n${i + 1}").`).join('\n'),
      json: JSON.stringify(Array.from({ length: PARSE_FACTS }, (_, i) => [`n${i}`, `n${i + 1}`])),
    },
    {
      name: 'edge(I,J). numbers',
      dl: Array.from({ length: PARSE_FACTS }, (_, i) => `edge(${i},${i + 1}).`).join('\n'),
      json: JSON.stringify(Array.from({ length: PARSE_FACTS }, (_, i) => [i, i + 1])),
    },
  ];
  const mbps = (chars: number, ms: number): number => chars / 1e6 / (ms / 1000);
  const rows: string[][] = [];
  for (const input of inputs) {
    // Warm both parsers on a slice first.
    parseProgram(input.dl.slice(0, 100_000).replace(/[^\n]*$/, ''));
    JSON.parse(input.json);
    const dl: number[] = [];
    const js: number[] = [];
    for (let r = 0; r < PARSE_ROUNDS; r++) {
      let t0 = performance.now();
      const parsed = parseProgram(input.dl, 'facts.dl');
      dl.push(mbps(input.dl.length, performance.now() - t0));
      if (!parsed.ok || parsed.value.facts.length !== PARSE_FACTS) throw new Error(`${input.name}: did not parse`);
      t0 = performance.now();
      JSON.parse(input.json);
      js.push(mbps(input.json.length, performance.now() - t0));
    }
    const d = stat(dl);
    const j = stat(js);
    const span = (s: Stat): string => `${s.median.toFixed(1)} (${s.min.toFixed(1)}-${s.max.toFixed(1)})`;
    rows.push([input.name, `${(input.dl.length / 1e6).toFixed(1)} MB`, span(d), span(j), `${(d.median / j.median).toFixed(2)}x`]);
  }
  const header = ['input', 'size', 'parseProgram MB/s', 'JSON.parse MB/s (baseline)', 'ratio'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (c: string[]): string => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
  return [
    `Datalog parsing: ${PARSE_FACTS.toLocaleString('en-US')} generated facts per input, ${PARSE_ROUNDS} rounds, median (min-max); the baseline parses the same tuples as a JSON array in the same rounds.`,
    '',
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
  ];
}

const PRINT_NODES = 2000;
const PRINT_ROUNDS = 5;

/**
 * `flowtap policy eval` on a 2,000-node chain (2,001,000 tuples to print), against the way it
 * printed before (each tuple written on its own, the tuples sorted by comparing String()s of
 * their columns), both evaluating the same program and writing to /dev/null the same way a
 * file on stdout is written (one synchronous write per call).
 */
async function printing(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-bench-print-'));
  const file = join(dir, 'chain.dl');
  const lines = [TC.trim()];
  for (let i = 0; i + 1 < PRINT_NODES; i++) lines.push(`edge(${i}, ${i + 1}).`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  const fd = openSync('/dev/null', 'w');
  const io = { out: (s: string) => void writeSync(fd, s.endsWith('\n') ? s : `${s}\n`), err: (s: string) => void writeSync(2, `${s}\n`) };
  const before = (): number => {
    const p = unwrap(checkProgram(unwrap(parseProgram(TC, file))));
    const db = unwrap(evaluate(p, chain(PRINT_NODES), { maxSeconds: 600, maxMb: 8192 }));
    let n = 0;
    for (const pred of db.predicates()) {
      const rows = db.query(pred).sort((a: Value[], b: Value[]) => {
        for (let i = 0; i < a.length; i++) {
          const x = String(a[i]);
          const y = String(b[i]);
          if (x !== y) return x < y ? -1 : 1;
        }
        return 0;
      });
      for (const args of rows) {
        io.out(formatFact({ pred, args }));
        n++;
      }
    }
    return n;
  };
  const old: number[] = [];
  const now: number[] = [];
  try {
    for (let r = 0; r < PRINT_ROUNDS; r++) {
      let t0 = performance.now();
      const n = before();
      old.push((performance.now() - t0) / 1000);
      if (n !== (PRINT_NODES * (PRINT_NODES - 1)) / 2 + PRINT_NODES - 1) throw new Error(`printed ${n} tuples`);
      t0 = performance.now();
      const code = await main(['policy', 'eval', file], io);
      now.push((performance.now() - t0) / 1000);
      if (code !== 0) throw new Error(`policy eval exited ${code}`);
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  const o = stat(old);
  const w = stat(now);
  const span = (x: Stat): string => `${x.median.toFixed(2)} s (${x.min.toFixed(2)}-${x.max.toFixed(2)})`;
  return [
    `policy eval printing: ${PRINT_NODES}-node chain closure, ${PRINT_ROUNDS} rounds, median (min-max), to /dev/null`,
    `  tuple by tuple (before, baseline): ${span(o)}`,
    `  in blocks (flowtap policy eval):   ${span(w)}   ${(o.median / w.median).toFixed(1)}x faster`,
  ];
}

export async function run(): Promise<string[]> {
  const parsing = parseThroughput();
  if (process.argv.includes('--parse-only')) return parsing;
  if (process.argv.includes('--print-only')) return printing();

  const parsed = parseProgram(TC, 'tc.dl');
  if (!parsed.ok) throw new Error('benchmark program does not parse');
  const checked = checkProgram(parsed.value);
  if (!checked.ok) throw new Error('benchmark program does not check');
  const p = checked.value;

  // Warm the JIT on both evaluators so the first measured run is not penalised.
  measure(p, 'warmup', chain(200), false);
  measure(p, 'warmup', chain(100), true);

  const dag = randomDag(DAG_NODES, DAG_EDGES, DAG_SPAN, 20240611);

  const rows: Measure[] = [];
  const ratios = new Map<Measure, number>();
  const mismatches: string[] = [];
  const pair = (input: string, facts: Fact[]): void => {
    const semi = measure(p, input, facts, false);
    const naive = measure(p, input, facts, true);
    if (semi.tuples !== naive.tuples) mismatches.push(`${input}: semi-naive ${semi.tuples} vs naive ${naive.tuples}`);
    rows.push(semi, naive);
    ratios.set(semi, naive.ms / semi.ms);
  };

  rows.push(measure(p, `chain ${CHAIN_NODES} nodes`, chain(CHAIN_NODES), false));
  pair(`chain ${CHAIN_NAIVE_NODES} nodes`, chain(CHAIN_NAIVE_NODES));
  // The DAG's longest path is short, so naive needs few iterations and can run at full size.
  pair(`random DAG ${DAG_NODES} nodes`, toFacts(dag));

  const lines = [
    'Datalog transitive closure: path(X,Y) :- edge(X,Y).  path(X,Z) :- path(X,Y), edge(Y,Z).',
    `Random DAG: ${DAG_EDGES} edges i -> j over ${DAG_NODES} nodes with i < j <= i + ${DAG_SPAN} (a DAG with bounded span keeps the closure tractable).`,
    `Naive re-joins everything in each of its ~n iterations: on a chain that is O(n^3), so it runs on a ${CHAIN_NAIVE_NODES}-node chain`,
    `(semi-naive on the same ${CHAIN_NAIVE_NODES}-node chain too), and on the full DAG. "speedup" = naive time / semi-naive time, same input, same process.`,
    '',
    ...table(rows, ratios),
    '',
    mismatches.length === 0
      ? 'semi-naive and naive derived the same number of tuples on every shared input'
      : `MISMATCH: ${mismatches.join('; ')}`,
    '',
    ...parsing,
    '',
    ...(await printing()),
  ];
  return lines;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const line of await run()) console.log(line);
}
