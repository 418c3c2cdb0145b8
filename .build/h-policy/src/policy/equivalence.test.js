/**
 * Semi-naive must agree with naive evaluation on random graphs and random stratified
 * programs; both must agree with a deliberately simple reference evaluator written
 * here, which shares no code with the engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTINS } from './builtins.js';
import { evaluate } from './evaluate.js';
import { checked, rows } from './test-util.js';
function rng(seed) {
    let s = seed >>> 0 || 1;
    return () => {
        s ^= s << 13;
        s >>>= 0;
        s ^= s >>> 17;
        s ^= s << 5;
        s >>>= 0;
        return s / 4294967296;
    };
}
const pick = (r, xs) => xs[Math.floor(r() * xs.length)];
function sameDatabases(a, b, label) {
    assert.deepEqual(a.predicates(), b.predicates(), label);
    for (const p of a.predicates())
        assert.deepEqual(rows(a, p), rows(b, p), `${label}: ${p}`);
}
/** Closure by breadth-first search from every node. */
function bfsClosure(n, edges) {
    const adj = Array.from({ length: n }, () => []);
    for (const [a, b] of edges)
        adj[a].push(b);
    const out = [];
    for (let s = 0; s < n; s++) {
        const seen = new Set();
        const q = [...adj[s]];
        for (const x of q)
            seen.add(x);
        for (let i = 0; i < q.length; i++)
            for (const y of adj[q[i]])
                if (!seen.has(y))
                    (seen.add(y), q.push(y));
        for (const t of seen)
            out.push(JSON.stringify([s, t]));
    }
    return out.sort();
}
const CLOSURES = [
    `path(X, Y) :- edge(X, Y).\npath(X, Z) :- path(X, Y), edge(Y, Z).`,
    `path(X, Y) :- edge(X, Y).\npath(X, Z) :- edge(X, Y), path(Y, Z).`,
    `path(X, Y) :- edge(X, Y).\npath(X, Z) :- path(X, Y), path(Y, Z).`,
];
test('semi-naive == naive == BFS on random graphs (three closure formulations)', () => {
    const r = rng(7);
    for (let round = 0; round < 30; round++) {
        const n = 2 + Math.floor(r() * 40);
        const m = Math.floor(r() * n * 2.5);
        const edges = [];
        for (let i = 0; i < m; i++)
            edges.push([Math.floor(r() * n), Math.floor(r() * n)]);
        const facts = edges.map(([a, b]) => ({ pred: 'edge', args: [a, b] }));
        const expected = bfsClosure(n, edges);
        for (const text of CLOSURES) {
            const p = checked(text);
            const semi = evaluate(p, facts);
            const naive = evaluate(p, facts, { naive: true });
            assert.deepEqual(rows(semi, 'path'), expected, `round ${round}`);
            sameDatabases(semi, naive, `round ${round}`);
        }
    }
});
// --- random stratified programs -------------------------------------------------
const EDB = [
    ['e', 2],
    ['f', 2],
    ['u', 1],
];
const VARS = ['A', 'B', 'C', 'D'];
/**
 * Derived predicates come in pairs per level; a rule may read positively any
 * predicate at its level or below, and negate only EDB or lower-level predicates,
 * so every generated program is stratifiable (and may be mutually recursive).
 */
function randomProgram(r) {
    const idb = [];
    for (let i = 0; i < 6; i++)
        idb.push({ name: `p${i}`, arity: 1 + Math.floor(r() * 2), level: i >> 1 });
    const lines = [];
    for (const h of idb) {
        const nrules = 1 + Math.floor(r() * 3);
        for (let k = 0; k < nrules; k++) {
            const readable = [...EDB.map(([name, arity]) => ({ name, arity, level: -1 })), ...idb.filter((q) => q.level <= h.level)];
            const negatable = [...EDB.map(([name, arity]) => ({ name, arity, level: -1 })), ...idb.filter((q) => q.level < h.level)];
            const body = [];
            const bound = new Set();
            const natoms = 1 + Math.floor(r() * 3);
            for (let a = 0; a < natoms; a++) {
                const q = pick(r, readable);
                const args = [];
                for (let j = 0; j < q.arity; j++) {
                    const x = r();
                    if (x < 0.12)
                        args.push(String(Math.floor(r() * 4)));
                    else if (x < 0.2)
                        args.push('_');
                    else {
                        const v = pick(r, VARS);
                        args.push(v);
                    }
                }
                args.forEach((t) => /^[A-Z]$/.test(t) && bound.add(t));
                body.push(`${q.name}(${args.join(', ')})`);
            }
            const bv = [...bound];
            if (bv.length === 0) {
                body.push('u(A)');
                bv.push('A');
            }
            if (r() < 0.4) {
                const q = pick(r, negatable);
                const args = Array.from({ length: q.arity }, () => (r() < 0.2 ? '_' : pick(r, bv)));
                body.push(`not ${q.name}(${args.join(', ')})`);
            }
            if (r() < 0.3)
                body.push(`${pick(r, bv)} ${pick(r, ['!=', '<', '>=', '='])} ${r() < 0.5 ? pick(r, bv) : Math.floor(r() * 4)}`);
            if (r() < 0.15)
                body.push(`plus(${pick(r, bv)}, 1, Z)`);
            const headVars = body.some((l) => l.startsWith('plus')) ? [...bv, 'Z'] : bv;
            const head = Array.from({ length: h.arity }, () => (r() < 0.1 ? '3' : pick(r, headVars)));
            lines.push(`${h.name}(${head.join(', ')}) :- ${body.join(', ')}.`);
        }
    }
    const facts = [];
    const dom = 5;
    for (const [name, arity] of EDB) {
        const count = Math.floor(r() * 12);
        for (let i = 0; i < count; i++)
            facts.push({ pred: name, args: Array.from({ length: arity }, () => Math.floor(r() * dom)) });
    }
    return { text: lines.join('\n'), facts };
}
/** Reference: every rule re-applied over full relations until nothing changes, level by level. */
function reference(p, strataOf, facts) {
    const db = new Map();
    const add = (pred, args) => {
        let m = db.get(pred);
        if (!m)
            db.set(pred, (m = new Map()));
        const k = JSON.stringify(args);
        if (m.has(k))
            return false;
        m.set(k, args);
        return true;
    };
    for (const f of [...p.facts, ...facts])
        add(f.pred, f.args);
    const levels = [...new Set(strataOf.values())].sort((a, b) => a - b);
    for (const level of levels) {
        const rules = p.rules.filter((r) => strataOf.get(r.head.pred) === level);
        for (let changed = true; changed;) {
            changed = false;
            for (const rule of rules) {
                const found = [];
                const val = (t, env) => (t.kind === 'const' ? t.value : env.get(t.name));
                const solve = (i, env) => {
                    if (i === rule.body.length) {
                        found.push(rule.head.args.map((t) => val(t, env)));
                        return;
                    }
                    const l = rule.body[i];
                    if (l.kind === 'atom' && !l.negated) {
                        for (const tuple of db.get(l.atom.pred)?.values() ?? []) {
                            const e = new Map(env);
                            const okMatch = l.atom.args.every((t, j) => {
                                if (t.kind === 'var' && t.anonymous)
                                    return true;
                                const cur = val(t, e);
                                if (cur === undefined) {
                                    e.set(t.name, tuple[j]);
                                    return true;
                                }
                                return cur === tuple[j];
                            });
                            if (okMatch)
                                solve(i + 1, e);
                        }
                        return;
                    }
                    // Filters are evaluated after every positive atom: move them to the end.
                    solve(i + 1, env);
                };
                const positives = rule.body.filter((l) => l.kind === 'atom' && !l.negated);
                const filters = rule.body.filter((l) => !(l.kind === 'atom' && !l.negated));
                const saved = rule.body;
                rule.body = positives;
                const envs = [];
                const collect = (i, env) => {
                    if (i === positives.length)
                        return void envs.push(env);
                    const l = positives[i];
                    if (l.kind !== 'atom')
                        return;
                    for (const tuple of db.get(l.atom.pred)?.values() ?? []) {
                        const e = new Map(env);
                        let okMatch = true;
                        l.atom.args.forEach((t, j) => {
                            if (!okMatch || (t.kind === 'var' && t.anonymous))
                                return;
                            const cur = val(t, e);
                            if (cur === undefined)
                                e.set(t.name, tuple[j]);
                            else if (cur !== tuple[j])
                                okMatch = false;
                        });
                        if (okMatch)
                            collect(i + 1, e);
                    }
                };
                collect(0, new Map());
                rule.body = saved;
                void solve;
                for (const env0 of envs) {
                    let env = env0;
                    for (const l of filters) {
                        if (!env)
                            break;
                        if (l.kind === 'atom') {
                            const hit = [...(db.get(l.atom.pred)?.values() ?? [])].some((tuple) => l.atom.args.every((t, j) => (t.kind === 'var' && t.anonymous) || val(t, env) === tuple[j]));
                            if (hit)
                                env = undefined;
                            continue;
                        }
                        const spec = BUILTINS.get(l.name);
                        if (!spec)
                            throw new Error(l.name);
                        const args = l.args.map((t) => val(t, env));
                        if (spec.output !== undefined && args[spec.output] === undefined) {
                            const out = spec.compute?.(args);
                            if (out === undefined)
                                env = undefined;
                            else
                                env.set(l.args[spec.output].name, out);
                        }
                        else if (spec.unifies && (args[0] === undefined || args[1] === undefined)) {
                            const known = args[0] ?? args[1];
                            const free = (args[0] === undefined ? l.args[0] : l.args[1]);
                            env.set(free.name, known);
                        }
                        else if (spec.test(args) === l.negated)
                            env = undefined;
                    }
                    if (env)
                        found.push(rule.head.args.map((t) => val(t, env)));
                }
                for (const t of found)
                    if (add(rule.head.pred, t))
                        changed = true;
            }
        }
    }
    return db;
}
function referenceRows(t, pred) {
    return [...(t.get(pred)?.keys() ?? [])].sort();
}
test('semi-naive == naive == reference on random stratified programs', () => {
    const r = rng(12345);
    let nonEmpty = 0;
    for (let round = 0; round < 150; round++) {
        const g = randomProgram(r);
        const p = checked(g.text);
        const semi = evaluate(p, g.facts);
        const naive = evaluate(p, g.facts, { naive: true });
        sameDatabases(semi, naive, `program ${round}:\n${g.text}`);
        const levels = new Map();
        for (const rule of p.program.rules)
            levels.set(rule.head.pred, Number(rule.head.pred.slice(1)) >> 1);
        const ref = reference(p.program, levels, g.facts);
        for (const pred of semi.predicates()) {
            assert.deepEqual(rows(semi, pred), referenceRows(ref, pred), `program ${round}, ${pred}:\n${g.text}`);
        }
        if (semi.count() > g.facts.length)
            nonEmpty++;
    }
    // The generator must exercise derivation, not just produce empty results.
    assert.ok(nonEmpty > 100, `only ${nonEmpty} programs derived anything`);
});
//# sourceMappingURL=equivalence.test.js.map