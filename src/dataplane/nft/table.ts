/**
 * nftables tables as values: named sets and chains holding rules in order. The renderers build
 * these and print them with formatTable; the nftables backend compares two of them to change
 * only the rules that differ (update.ts), and the simulator lists the same rules as counters.
 * A rule is identified by its chain and its text (its comment names it to people and to
 * counters): two rules with the same text in one chain are interchangeable.
 */

export type NftFamily = 'inet' | 'ip' | 'netdev' | 'bridge';

export interface NftRule {
  /** The rule as `nft add rule` takes it, comment included. */
  text: string;
  /** The comment nft stores (what `nft -j` lists), '' when the rule has none. */
  comment: string;
  /** The rule has a counter: it is listed by counters(). */
  counted: boolean;
  /** `#` lines printed before the rule (what it implements, why a contract is left out). */
  notes?: string[];
}

export interface NftChain {
  name: string;
  /** A base chain's spec, `type filter hook ... priority ...; [policy ...;]`; absent for a regular chain. */
  base?: string;
  rules: NftRule[];
  /** `#` lines after the last rule. */
  trailing?: string[];
}

export interface NftSetDef {
  name: string;
  /** `type ...`, `flags ...` lines, in order. */
  spec: string[];
  elements: string[];
}

export interface NftTable {
  family: NftFamily;
  name: string;
  sets: NftSetDef[];
  chains: NftChain[];
}

const COMMENT = /\bcomment "([^"]*)"\s*$/;
const COUNTER = /(^|\s)counter(\s|$)/;

/** A rule from its text: the comment and counter are read from what the renderer wrote. */
export function rule(text: string, notes?: string[]): NftRule {
  const r: NftRule = { text, comment: COMMENT.exec(text)?.[1] ?? '', counted: COUNTER.test(text) };
  if (notes?.length) r.notes = notes;
  return r;
}

/**
 * Builds a chain from the lines a renderer emits in order: `# ...` lines become the notes of
 * the next rule (or of the chain's end), everything else is a rule.
 */
export function chainOf(name: string, base: string | undefined, lines: readonly string[]): NftChain {
  const rules: NftRule[] = [];
  let notes: string[] = [];
  for (const l of lines) {
    if (l.startsWith('#')) notes.push(l);
    else {
      rules.push(rule(l, notes));
      notes = [];
    }
  }
  const c: NftChain = base === undefined ? { name, rules } : { name, base, rules };
  if (notes.length) c.trailing = notes;
  return c;
}

export function formatTable(t: NftTable): string {
  const out = [`table ${t.family} ${t.name} {`];
  for (const s of t.sets) {
    out.push(`  set ${s.name} {`, ...s.spec.map((l) => `    ${l}`));
    if (s.elements.length) out.push(`    elements = { ${s.elements.join(', ')} }`);
    out.push('  }');
  }
  for (const c of t.chains) {
    out.push(`  chain ${c.name} {`);
    if (c.base !== undefined) out.push(`    ${c.base}`);
    for (const r of c.rules) {
      for (const n of r.notes ?? []) out.push(`    ${n}`);
      out.push(`    ${r.text}`);
    }
    for (const n of c.trailing ?? []) out.push(`    ${n}`);
    out.push('  }');
  }
  out.push('}');
  return out.join('\n') + '\n';
}

export interface CountedRule {
  family: NftFamily;
  table: string;
  chain: string;
  comment: string;
  text: string;
}

/** The rules with counters, in table, chain and rule order: what reading counters back lists. */
export function countedRules(tables: readonly NftTable[]): CountedRule[] {
  const out: CountedRule[] = [];
  for (const t of tables)
    for (const c of t.chains)
      for (const r of c.rules)
        if (r.counted) out.push({ family: t.family, table: t.name, chain: c.name, comment: r.comment, text: r.text });
  return out;
}
