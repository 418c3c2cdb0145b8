/**
 * Stratification: order the derived predicates so that every predicate is computed
 * after everything it depends on, and reject negation through recursion with the
 * offending cycle spelled out (`p -> not q -> p`).
 */
import { diag, type Diagnostic } from '../diagnostics/index.js';
import type { Rule } from './ast.js';

/** A strongly connected group of derived predicates, evaluated together. */
export interface Stratum {
  preds: string[];
  /** Indexes into the program's rules whose head is in `preds`. */
  rules: number[];
  /** True when some rule reads a predicate of this group (needs a fixpoint). */
  recursive: boolean;
  /** Classic stratum number: how many negations lie below this group. */
  level: number;
}

interface Edge {
  to: number;
  negated: boolean;
}

/** Tarjan's algorithm, iterative so that long dependency chains cannot overflow the stack. */
function components(n: number, adj: Edge[][]): number[][] {
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const out: number[][] = [];
  let counter = 0;
  const work: { v: number; e: number }[] = [];
  for (let root = 0; root < n; root++) {
    if (index[root] >= 0) continue;
    work.push({ v: root, e: 0 });
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const v = frame.v;
      if (frame.e < adj[v].length) {
        const w = adj[v][frame.e++].to;
        if (index[w] < 0) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          work.push({ v: w, e: 0 });
        } else if (onStack[w]) {
          low[v] = Math.min(low[v], index[w]);
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].v;
        low[parent] = Math.min(low[parent], low[v]);
      }
      if (low[v] === index[v]) {
        const comp: number[] = [];
        let w: number;
        do {
          w = stack.pop() as number;
          onStack[w] = 0;
          comp.push(w);
        } while (w !== v);
        out.push(comp);
      }
    }
  }
  return out;
}

/** Shortest dependency path from `from` to `to` inside one component. */
function pathWithin(from: number, to: number, adj: Edge[][], comp: Int32Array, c: number): Edge[] {
  const prev = new Map<number, { at: number; edge: Edge }>();
  const queue = [from];
  const seen = new Set([from]);
  for (let qi = 0; qi < queue.length; qi++) {
    const v = queue[qi];
    if (v === to) break;
    for (const e of adj[v]) {
      if (comp[e.to] !== c || seen.has(e.to)) continue;
      seen.add(e.to);
      prev.set(e.to, { at: v, edge: e });
      queue.push(e.to);
    }
  }
  const path: Edge[] = [];
  for (let v = to; v !== from; ) {
    const p = prev.get(v);
    if (!p) break;
    path.push(p.edge);
    v = p.at;
  }
  return path.reverse();
}

export function stratify(rules: readonly Rule[]): { strata: Stratum[]; errors: Diagnostic[] } {
  const ids = new Map<string, number>();
  const names: string[] = [];
  for (const r of rules) {
    if (!ids.has(r.head.pred)) {
      ids.set(r.head.pred, names.length);
      names.push(r.head.pred);
    }
  }
  const n = names.length;
  // Edges point from a head to the derived predicates its body reads.
  const adj: Edge[][] = names.map(() => []);
  const edgeIndex = new Map<string, Edge>();
  for (const r of rules) {
    const h = ids.get(r.head.pred) as number;
    for (const l of r.body) {
      if (l.kind !== 'atom') continue;
      const b = ids.get(l.atom.pred);
      if (b === undefined) continue;
      const key = `${h},${b}`;
      const e = edgeIndex.get(key);
      if (e) {
        e.negated ||= l.negated;
      } else {
        const edge = { to: b, negated: l.negated };
        edgeIndex.set(key, edge);
        adj[h].push(edge);
      }
    }
  }
  // Tarjan emits a component only after every component it reaches, i.e. after its dependencies.
  const comps = components(n, adj);
  const comp = new Int32Array(n);
  for (const [i, c] of comps.entries()) for (const v of c) comp[v] = i;

  const errors: Diagnostic[] = [];
  for (const r of rules) {
    const h = ids.get(r.head.pred) as number;
    for (const l of r.body) {
      if (l.kind !== 'atom' || !l.negated) continue;
      const b = ids.get(l.atom.pred);
      if (b === undefined || comp[b] !== comp[h]) continue;
      const path = pathWithin(b, h, adj, comp, comp[h]);
      const cycle = [names[h], `not ${names[b]}`, ...path.map((e) => (e.negated ? `not ${names[e.to]}` : names[e.to]))];
      const why =
        b === h
          ? `${names[h]} -> not ${names[h]}; '${names[h]}' cannot depend on its own negation`
          : `${cycle.join(' -> ')}; '${names[h]}' cannot depend on the negation of '${names[b]}' while '${names[b]}' depends on '${names[h]}'`;
      errors.push(diag('E_DL_UNSTRATIFIABLE', `negation through recursion: ${why}`, l.loc));
    }
  }

  const level = new Int32Array(comps.length);
  const strata: Stratum[] = comps.map((c, i) => {
    let lv = 0;
    let recursive = false;
    for (const v of c) {
      for (const e of adj[v]) {
        if (comp[e.to] === i) recursive = true;
        else lv = Math.max(lv, level[comp[e.to]] + (e.negated ? 1 : 0));
      }
    }
    level[i] = lv;
    return { preds: c.map((v) => names[v]).sort(), rules: [], recursive, level: lv };
  });
  for (const [i, r] of rules.entries()) strata[comp[ids.get(r.head.pred) as number]].rules.push(i);
  return { strata, errors };
}
