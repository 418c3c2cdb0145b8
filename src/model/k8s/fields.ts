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
  constructor(
    readonly locate: Locator,
    readonly errors: Diagnostic[],
    readonly notes: Diagnostic[],
  ) {}

  error(code: DiagCode, message: string, field: string, at: 'key' | 'value' = 'value'): undefined {
    this.errors.push(diag(code, message, this.locate(field, at)));
    return undefined;
  }

  note(code: DiagCode, message: string, field: string): void {
    this.notes.push(diag(code, message, this.locate(field)));
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
      const what = form === 'label' ? 'a lowercase DNS label (a-z, 0-9, "-", at most 63)' : 'a lowercase DNS name (a-z, 0-9, "-", ".")';
      return this.error('E_K8S_NAME', `"${s}" is not ${what}`, field);
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
      if (!isLabelKey(key)) {
        this.error('E_K8S_NAME', `"${key}" is not a valid label key`, f, 'key');
        continue;
      }
      if (typeof value !== 'string') {
        // YAML reads `version: 1` as a number; Kubernetes rejects it, so do we, with the fix.
        this.error('E_TYPE', `label values are strings; got ${describe(value)} (quote it: "${String(value)}")`, f);
        continue;
      }
      if (value.length > 63 || !LABEL_VALUE.test(value)) {
        this.error('E_K8S_NAME', `"${value}" is not a valid label value`, f);
        continue;
      }
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
