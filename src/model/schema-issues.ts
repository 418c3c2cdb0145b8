import { z } from 'zod';
import { diag, type Diagnostic } from '../diagnostics/index.js';
import { childField, type PathSegment } from './field-path.js';
import type { Locator } from './locator.js';
import { didYouMean } from './suggest.js';

/**
 * Checks `input` against `schema` and turns every zod issue into a positioned
 * diagnostic that says what was expected and what was found. `field` is where
 * `input` sits in the descriptor.
 */
export function checkShape<T>(
  schema: z.ZodType<T>,
  input: unknown,
  field: string,
  locate: Locator,
): { ok: true; value: T } | { ok: false; errors: Diagnostic[] } {
  const r = schema.safeParse(input);
  if (r.success) return { ok: true, value: r.data };
  const errors: Diagnostic[] = [];
  for (const issue of r.error.issues) errors.push(...describeIssue(issue, schema, input, field, locate));
  return { ok: false, errors };
}

function describeIssue(
  issue: z.core.$ZodIssue,
  schema: z.ZodType,
  input: unknown,
  base: string,
  locate: Locator,
): Diagnostic[] {
  const path = issue.path as PathSegment[];
  let field = base;
  for (const seg of path) field = childField(field, seg);
  const found = valueAt(input, path);

  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(schemaAt(schema, path));
      return issue.keys.map((key) => {
        const keyField = childField(field, key);
        const hint = allowed.length ? `; allowed keys: ${allowed.join(', ')}${didYouMean(key, allowed)}` : '';
        return diag('E_UNKNOWN_KEY', `unknown key "${key}"${where(field)}${hint}`, locate(keyField, 'key'));
      });
    }
    case 'invalid_type': {
      const expected = expectedName(issue.expected);
      if (found.present && found.value !== undefined) {
        return [diag('E_TYPE', `expected ${expected}, got ${describe(found.value)}`, locate(field))];
      }
      const key = path.length ? String(path[path.length - 1]) : field;
      return [diag('E_MISSING_KEY', `missing required key "${key}" (expected ${expected})`, locate(field))];
    }
    case 'invalid_value': {
      const choices = issue.values.map((v) => JSON.stringify(v));
      const got = found.present ? describe(found.value) : 'nothing';
      const hint = typeof found.value === 'string' ? didYouMean(found.value, issue.values.map(String)) : '';
      return [diag('E_ENUM', `expected one of ${choices.join(', ')}; got ${got}${hint}`, locate(field))];
    }
    case 'invalid_union': {
      const options = new Set<string>();
      for (const branch of issue.errors) {
        for (const sub of branch) if (sub.code === 'invalid_type' && sub.path.length === 0) options.add(expectedName(sub.expected));
      }
      const expected = options.size ? [...options].join(' or ') : 'a different value';
      return [diag('E_TYPE', `expected ${expected}, got ${describe(found.value)}`, locate(field))];
    }
    case 'too_small': {
      const msg =
        issue.origin === 'string'
          ? 'must not be empty'
          : issue.origin === 'array'
            ? `expected at least ${issue.minimum} item(s)`
            : `must be at least ${issue.minimum}`;
      return [diag('E_SCHEMA', msg, locate(field))];
    }
    default:
      return [diag('E_SCHEMA', issue.message, locate(field))];
  }
}

const where = (field: string): string => (field ? ` in ${field}` : ' at the top level');

function expectedName(expected: string): string {
  switch (expected) {
    case 'object':
    case 'record':
      return 'a mapping (key: value)';
    case 'array':
      return 'a list';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    default:
      return expected;
  }
}

/** A short description of a YAML value for messages, never the whole value. */
export function describe(value: unknown): string {
  if (value === null) return 'an empty value (null)';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
    case 'number':
      return `the number ${value}`;
    case 'boolean':
      return `${value}`;
    case 'object':
      return 'a mapping';
    default:
      return typeof value;
  }
}

function valueAt(input: unknown, path: readonly PathSegment[]): { present: boolean; value?: unknown } {
  let cur = input;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, seg)) return { present: false };
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return { present: true, value: cur };
}

/** The schema that applies at `path`, seen through optional/default wrappers. */
function schemaAt(schema: z.ZodType, path: readonly PathSegment[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = unwrap(schema);
  for (const seg of path) {
    if (s instanceof z.ZodObject) s = (s.shape as Record<string, z.ZodType>)[String(seg)];
    else if (s instanceof z.ZodArray) s = s.element as z.ZodType;
    else if (s instanceof z.ZodRecord) s = s.valueType as z.ZodType;
    else return undefined;
    if (s === undefined) return undefined;
    s = unwrap(s);
  }
  return s;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
  return s;
}

function allowedKeys(schema: z.ZodType | undefined): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}
