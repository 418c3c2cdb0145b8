/**
 * Generated names and identifiers as Kubernetes makes them: uids, the five-character suffixes of
 * generateName, and the hash in `<deployment>-<hash>` ReplicaSet names, drawn from the same
 * alphabet (no vowels, so no words) from the stand-in's seeded generator.
 */
import type { Rng } from '../../random/index.js';

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(random: Rng, length = 5): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ALPHANUMS[Math.floor(random() * ALPHANUMS.length)];
  return s;
}

export function randomUid(random: Rng): string {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  const variant = (8 + Math.floor(random() * 4)).toString(16);
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(12)}`;
}

/** FNV-1a over the text's UTF-16 units, 32 bits. */
function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A stable short hash of a value, spelled like pod-template-hash (`5d4f8c9b7`). */
export function templateHash(value: unknown): string {
  let n = fnv32a(canonicalJson(value));
  let s = '';
  do {
    s = ALPHANUMS[n % ALPHANUMS.length] + s;
    n = Math.floor(n / ALPHANUMS.length);
  } while (n > 0);
  return s;
}

/** JSON with object keys sorted, so equal values hash equally whatever their key order. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null)
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** RFC 3339 to the second, as metadata timestamps are written. */
export function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
