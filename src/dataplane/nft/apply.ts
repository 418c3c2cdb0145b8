/**
 * Applying rulesets with `nft -f` atomically, and reading counters back with `nft -j`, inside a
 * node's namespace through the system driver. One nft transaction first creates (if missing)
 * then deletes every table flowtap owns and then defines them anew: either all of it takes
 * effect or none of it, so a failed apply leaves the previous rules in force.
 */
import { diag, fail, ok, type Diagnostic, type Result } from '../../diagnostics/index.js';
import type { System } from '../../system/index.js';
import type { RuleCounter } from '../backend.js';

/*
 * These take a whole System rather than any object with a `run`: a runner that ignored the `ns`
 * option would type-check, and apply a node's rules to the caller's own namespace.
 */

export interface OwnedTable {
  family: 'inet' | 'ip' | 'netdev' | 'bridge';
  name: string;
}

export function atomicScript(owned: readonly OwnedTable[], bodies: string[]): string {
  return deleteScript(owned) + bodies.join('\n');
}

/** Deletes the tables, whether or not they exist (declaring a table first makes the delete safe). */
function deleteScript(owned: readonly OwnedTable[]): string {
  return owned.map((t) => `table ${t.family} ${t.name}\ndelete table ${t.family} ${t.name}\n`).join('');
}

const where = (ns: string | null) => (ns ? { ns } : {});

/** Checks a script without applying it (`nft -c`): the kernel validates it against what is in force. */
export async function checkNft(system: System, ns: string | null, script: string): Promise<Result<void>> {
  const r = await system.run(['nft', '-c', '-f', '-'], { ...where(ns), input: script });
  return r.code === 0 ? ok(undefined) : fail(nftErrors(r.stderr, ns));
}

export async function applyNft(system: System, ns: string | null, script: string): Promise<Result<void>> {
  const r = await system.run(['nft', '-f', '-'], { ...where(ns), input: script });
  return r.code === 0 ? ok(undefined) : fail(nftErrors(r.stderr, ns));
}

/**
 * Applies a script and returns nft's echo of what it added, handles included (`nft -e -a`).
 * Not in JSON: nft 1.0.6 with `-j` reads a script on stdin as JSON, and takes a text one as an
 * empty transaction (exit 0, nothing applied).
 */
export async function applyNftEcho(system: System, ns: string | null, script: string): Promise<Result<string>> {
  const r = await system.run(['nft', '-e', '-a', '-f', '-'], { ...where(ns), input: script });
  return r.code === 0 ? ok(r.stdout) : fail(nftErrors(r.stderr, ns));
}

export interface EchoedRule {
  family: string;
  table: string;
  chain: string;
  handle: number;
}

/** The rules an echo (`nft -e -a`) says were added, in order: `add|insert rule F T C ... # handle N`. */
export function echoedRules(echo: string): EchoedRule[] {
  const out: EchoedRule[] = [];
  for (const line of echo.split('\n')) {
    const m = /^(?:add|insert) rule (\S+) (\S+) (\S+) .*# handle (\d+)\s*$/.exec(line);
    if (m) out.push({ family: m[1], table: m[2], chain: m[3], handle: Number(m[4]) });
  }
  return out;
}

export async function deleteTables(system: System, ns: string | null, owned: readonly OwnedTable[]): Promise<void> {
  await system.run(['nft', '-f', '-'], { ...where(ns), input: deleteScript(owned) });
}

function nftErrors(stderr: string, ns: string | null): Diagnostic[] {
  // nft reports `/dev/stdin:LINE:COL-COL: Error: ...`; keep the position for the person.
  const file = `nft script${ns ? ` for ${ns}` : ''}`;
  const lines = stderr.split('\n').filter((l) => /Error:/.test(l));
  return (lines.length ? lines : [stderr.trim() || 'nft failed']).map((l) => {
    const m = /^[^:]*:(\d+):(\d+)(?:-\d+)?: Error: (.*)$/.exec(l);
    return m ? diag('E_NFT_REJECTED', m[3], { file, line: Number(m[1]), col: Number(m[2]) }) : diag('E_NFT_REJECTED', l.trim(), { file });
  });
}

export type NftRuleCounter = RuleCounter & { handle: number };

/** Reads every rule's counter in a table (rules without a counter are left out). */
export async function readCounters(system: System, ns: string | null, t: OwnedTable): Promise<Result<NftRuleCounter[]>> {
  const r = await system.run(['nft', '-j', 'list', 'table', t.family, t.name], where(ns));
  if (r.code !== 0) return fail(diag('E_NFT_READ', r.stderr.trim() || 'nft list failed', ns ? { file: ns } : undefined));
  try {
    return ok(parseCounters(r.stdout));
  } catch (e) {
    return fail(diag('E_NFT_READ', `nft -j list table ${t.family} ${t.name}: ${(e as Error).message}`, ns ? { file: ns } : undefined));
  }
}

/** A rule object of nft's JSON (a listing or an echo). */
export interface NftJsonRule {
  family: string;
  table: string;
  chain: string;
  handle: number;
  comment?: string;
  /** Only the counter statement is read; the other statements pass through untouched. */
  expr?: Array<{ counter?: { packets: number; bytes: number } } & Record<string, unknown>>;
}

/** One object of nft's JSON array: a listed rule, or an echoed command that carries one. */
type NftJsonItem = { rule?: NftJsonRule; add?: { rule?: NftJsonRule }; insert?: { rule?: NftJsonRule } };

/** Every rule object in nft's JSON output, in order: listed, or echoed by `add`/`insert`. */
export function jsonRules(json: string): NftJsonRule[] {
  const out: NftJsonRule[] = [];
  for (const doc of json.split('\n').filter((l) => l.trim())) {
    const items = (JSON.parse(doc) as { nftables?: NftJsonItem[] }).nftables ?? [];
    for (const item of items) {
      const rule = item.rule ?? item.add?.rule ?? item.insert?.rule;
      if (rule) out.push(rule);
    }
  }
  return out;
}

export function parseCounters(json: string): NftRuleCounter[] {
  const out: NftRuleCounter[] = [];
  for (const rule of jsonRules(json)) {
    const c = counterOf(rule);
    if (c) out.push(c);
  }
  return out;
}

/** A listed rule's counter with what names the rule; null for a rule that does not count. */
export function counterOf(rule: NftJsonRule): NftRuleCounter | null {
  const counter = (rule.expr ?? []).find((e) => e.counter)?.counter;
  if (!counter) return null;
  return {
    family: rule.family,
    table: rule.table,
    chain: rule.chain,
    handle: rule.handle,
    comment: rule.comment ?? '',
    packets: counter.packets,
    bytes: counter.bytes,
  };
}
