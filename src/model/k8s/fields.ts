/**
 * Typed reads of fields of one manifest object. Each read names the field path, so
 * a wrong value becomes a positioned diagnostic and the read returns undefined;
 * reading goes on so one object reports all its problems at once. Fields flowtap
 * does not use are never looked at (manifests carry many).
 */
import { diag, type Diagnostic, type DiagCode } from '../../diagnostics/index.js';
import { childField } from '../field-path.js';
import { describe, isRecord } from './yaml.js';
import type { Locator } from '../locator.js';

/** RFC 1123 label (namespaces, names of most objects), 63 characters at most. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 subdomain (Deployment, Pod names): dot-separated labels, 253 at most. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Label key: optional DNS-subdomain prefix and `/`, then a name of 63 characters at most. */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** Label value: empty, or like a label name. */
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

export class FieldReader {
  /** `where`: locates fields for the model's `loc` (cheaper than `locate` for large JSON); defaults to `locate`. */
  constructor(
    readonly locate: Locator,
    readonly errors: Diagnostic[],
    readonly notes: Diagnostic[],
    readonly where: Locator = locate,
  ) {}

  error(code: DiagCode, message: string, field: string, at: 'key' | 'value' = 'value'): undefined {
    this.errors.push(diag(code, message, this.locate(field, at)));
    return undefined;
  }

  note(code: DiagCode, message: string, field: string, at: 'key' | 'value' = 'value'): void {
    this.notes.push(diag(code, message, this.locate(field, at)));
  }

  /**
   * Warns about keys of `obj` that `known` does not list. The API server drops such fields
   * (or refuses the object, under strict validation); analysing as if it had dropped them
   * goes as far as the manifest allows, and the warning names the likely misspelling.
   */
  known(obj: Record<string, unknown>, field: string, known: ReadonlySet<string>): void {
    for (const key of Object.keys(obj)) {
      if (known.has(key)) continue;
      const guess = closest(key, known);
      this.note(
        'W_K8S_UNKNOWN_FIELD',
        `unknown field "${key}"${guess ? ` (did you mean "${guess}"?)` : ''}; the API server would drop it, and so does this analysis`,
        childField(field, key),
        'key',
      );
    }
  }

  /** A mapping, or undefined when absent/null (no error) or of another type (error). */
  object(v: unknown, field: string): Record<string, unknown> | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isRecord(v)) return this.error('E_TYPE', `expected a mapping, got ${describe(v)}`, field);
    return v;
  }

  list(v: unknown, field: string): unknown[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) return this.error('E_TYPE', `expected a list, got ${describe(v)}`, field);
    return v;
  }

  string(v: unknown, field: string, required = false): string | undefined {
    if (v === undefined || v === null) {
      return required ? this.error('E_MISSING_KEY', `"${lastSegment(field)}" is required`, field) : undefined;
    }
    if (typeof v !== 'string') return this.error('E_TYPE', `expected a string, got ${describe(v)}`, field);
    return v;
  }

  /** `code` names what a value out of range is (a port, a replica count). */
  integer(v: unknown, field: string, min: number, max: number, code: DiagCode): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) return this.error('E_TYPE', `expected an integer, got ${describe(v)}`, field);
    if (v < min || v > max) return this.error(code, `${v} is outside ${min}..${max}`, field);
    return v;
  }

  /** An object name: DNS label (namespaces) or subdomain (everything else). */
  name(v: unknown, field: string, form: 'label' | 'subdomain', required: boolean): string | undefined {
    const s = this.string(v, field, required);
    if (s === undefined) return undefined;
    const okForm = form === 'label' ? s.length <= 63 && DNS_LABEL.test(s) : s.length <= 253 && DNS_SUBDOMAIN.test(s);
    if (!okForm) {
      // The API server would refuse the object; the name still identifies it, so it is analysed.
      const what = form === 'label' ? 'a lowercase DNS label (a-z, 0-9, "-", at most 63)' : 'a lowercase DNS name (a-z, 0-9, "-", ".")';
      this.note('W_K8S_NAME', `"${s}" is not ${what}; the API server would refuse it; analysed as written`, field);
    }
    return s;
  }

  /** `key: value` string map with Kubernetes label syntax. */
  labels(v: unknown, field: string): Record<string, string> {
    const out: Record<string, string> = {};
    const obj = this.object(v, field);
    if (!obj) return out;
    for (const [key, value] of Object.entries(obj)) {
      const f = childField(field, key);
      if (typeof value !== 'string') {
        // YAML reads `version: 1` as a number; Kubernetes rejects it, so do we, with the fix.
        this.error('E_TYPE', `label values are strings; got ${describe(value)} (quote it: "${String(value)}")`, f);
        continue;
      }
      // Selectors still match a malformed label literally, so it is kept.
      if (!isLabelKey(key)) this.note('W_K8S_NAME', `"${key}" is not a valid label key; the API server would refuse it`, f, 'key');
      else if (value.length > 63 || !LABEL_VALUE.test(value))
        this.note('W_K8S_NAME', `"${value}" is not a valid label value; the API server would refuse it`, f);
      out[key] = value;
    }
    return out;
  }
}

export function isLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) return false;
  }
  return name.length > 0 && name.length <= 63 && LABEL_NAME.test(name);
}

function lastSegment(field: string): string {
  const m = /([^.[\]]+)\]?$/.exec(field);
  return m ? m[1] : field;
}

/** The known key within edit distance 2 of `key` (a likely misspelling), if any. */
function closest(key: string, known: ReadonlySet<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  const lower = key.toLowerCase();
  for (const k of known) {
    const d = k.toLowerCase() === lower ? 0 : editDistance(lower, k.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, giving up (returning `limit`) once it reaches `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      row.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin >= limit) return limit;
    prev = row;
  }
  return Math.min(prev[b.length], limit);
}
