/**
 * Applying rulesets with `nft -f` atomically, and reading counters back with `nft -j`.
 * One nft transaction first creates (if missing) then deletes every table flowtap owns and
 * then defines them anew: either all of it takes effect or none of it, so a failed apply
 * leaves the previous rules in force.
 */
import { diag, fail, ok, type Result } from '../../diagnostics/index.js';

export interface NftExec {
  run(argv: string[], opts?: { input?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
}

export interface OwnedTable {
  family: 'inet' | 'ip' | 'netdev' | 'bridge';
  name: string;
}

export function atomicScript(owned: OwnedTable[], bodies: string[]): string {
  const reset = owned.map((t) => `table ${t.family} ${t.name}\ndelete table ${t.family} ${t.name}\n`).join('');
  return reset + bodies.join('\n');
}

const nsArgv = (ns: string | null, argv: string[]) => (ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv);

/** Checks a script without applying it (`nft -c`). */
export async function checkNft(exec: NftExec, ns: string | null, script: string): Promise<Result<void>> {
  const r = await exec.run(nsArgv(ns, ['nft', '-c', '-f', '-']), { input: script });
  return r.code === 0 ? ok(undefined) : fail(nftErrors(r.stderr, ns));
}

export async function applyNft(exec: NftExec, ns: string | null, script: string): Promise<Result<void>> {
  const r = await exec.run(nsArgv(ns, ['nft', '-f', '-']), { input: script });
  return r.code === 0 ? ok(undefined) : fail(nftErrors(r.stderr, ns));
}

export async function deleteTables(exec: NftExec, ns: string | null, owned: OwnedTable[]): Promise<void> {
  await exec.run(nsArgv(ns, ['nft', '-f', '-']), {
    input: owned.map((t) => `table ${t.family} ${t.name}\ndelete table ${t.family} ${t.name}\n`).join(''),
  });
}

function nftErrors(stderr: string, ns: string | null) {
  // nft reports `/dev/stdin:LINE:COL-COL: Error: ...`; keep the position for the person.
  const lines = stderr.split('\n').filter((l) => /Error:/.test(l));
  const list = (lines.length ? lines : [stderr.trim() || 'nft failed']).map((l) => {
    const m = /^[^:]*:(\d+):(\d+)(?:-\d+)?: Error: (.*)$/.exec(l);
    return m
      ? diag('E_NFT_REJECTED', m[3], { file: `nft script${ns ? ` for ${ns}` : ''}`, line: Number(m[1]), col: Number(m[2]) })
      : diag('E_NFT_REJECTED', l.trim(), { file: `nft script${ns ? ` for ${ns}` : ''}` });
  });
  return list;
}

export interface RuleCounter {
  family: string;
  table: string;
  chain: string;
  handle: number;
  comment: string;
  packets: number;
  bytes: number;
}

/** Reads every rule's counter in a table (rules without a counter are left out). */
export async function readCounters(exec: NftExec, ns: string | null, t: OwnedTable): Promise<Result<RuleCounter[]>> {
  const r = await exec.run(nsArgv(ns, ['nft', '-j', 'list', 'table', t.family, t.name]));
  if (r.code !== 0) return fail(diag('E_NFT_READ', r.stderr.trim() || 'nft list failed', { file: ns ?? undefined }));
  return ok(parseCounters(r.stdout));
}

export function parseCounters(json: string): RuleCounter[] {
  const doc = JSON.parse(json) as { nftables: Array<Record<string, any>> };
  const out: RuleCounter[] = [];
  for (const item of doc.nftables) {
    const rule = item.rule;
    if (!rule) continue;
    const counter = (rule.expr as Array<Record<string, any>>).find((e) => e.counter)?.counter;
    if (!counter) continue;
    out.push({
      family: rule.family,
      table: rule.table,
      chain: rule.chain,
      handle: rule.handle,
      comment: rule.comment ?? '',
      packets: counter.packets,
      bytes: counter.bytes,
    });
  }
  return out;
}
