// zod's v3 API: its import costs a fifth of v4's, whose entry points load every locale (start-up of `flowtap validate`).
import { z } from 'zod/v3';
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
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
  input: unknown,
  field: string,
  locate: Locator,
): { ok: true; value: T } | { ok: false; errors: Diagnostic[] } {
  const r = schema.safeParse(input);
  if (r.success) return { ok: true, value: r.data };
  const errors: Diagnostic[] = [];
  // One problem per place: a value that is not finite fails `.int()` and `.max()` as well, which says nothing more.
  const seen = new Set<string>();
  for (const issue of r.error.issues) {
    const at = JSON.stringify(issue.path);
    if (seen.has(at)) continue;
    seen.add(at);
    errors.push(...describeIssue(issue, schema, input, field, locate));
  }
  return { ok: false, errors };
}

function describeIssue(issue: z.ZodIssue, schema: z.ZodType, input: unknown, base: string, locate: Locator): Diagnostic[] {
  const path = issue.path as PathSegment[];
  let field = base;
  for (const seg of path) field = childField(field, seg);
  const found = valueAt(input, path);
  const enumOptions = (options: readonly unknown[]): Diagnostic[] => {
    const choices = options.map((v) => JSON.stringify(v));
    const got = found.present ? describe(found.value) : 'nothing';
    const hint = typeof found.value === 'string' ? didYouMean(found.value, options.map(String)) : '';
    return [diag('E_ENUM', `expected one of ${choices.join(', ')}; got ${got}${hint}`, locate(field))];
  };

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
      // v3 reports a non-string where an enum belongs as a type error; it is still a wrong choice.
      const at = schemaAt(schema, path);
      if (at instanceof z.ZodEnum) return enumOptions(at.options);
      const expected = expectedName(issue.expected);
      if (found.present && found.value !== undefined) {
        return [diag('E_TYPE', `expected ${expected}, got ${describe(found.value)}`, locate(field))];
      }
      const key = path.length ? String(path[path.length - 1]) : field;
      return [diag('E_MISSING_KEY', `missing required key "${key}" (expected ${expected})`, locate(field))];
    }
    case 'invalid_enum_value':
      return enumOptions(issue.options);
    case 'invalid_union_discriminator':
      return enumOptions(issue.options);
    case 'invalid_union': {
      // v3 gives each branch's issues with their full path: the branch's own type errors are those at the union's path.
      const options = new Set<string>();
      for (const branch of issue.unionErrors) {
        for (const sub of branch.issues)
          if (sub.code === 'invalid_type' && sub.path.length === path.length) options.add(expectedName(sub.expected));
      }
      const expected = options.size ? [...options].join(' or ') : 'a different value';
      return [diag('E_TYPE', `expected ${expected}, got ${describe(found.value)}`, locate(field))];
    }
    case 'too_small': {
      const msg =
        issue.type === 'string'
          ? 'must not be empty'
          : issue.type === 'array'
            ? `expected at least ${issue.minimum} item(s)`
            : `must be at least ${issue.minimum}`;
      return [diag('E_SCHEMA', msg, locate(field))];
    }
    case 'too_big':
      return [
        diag(
          'E_SCHEMA',
          issue.type === 'array' ? `expected at most ${issue.maximum} item(s)` : `must be at most ${issue.maximum}`,
          locate(field),
        ),
      ];
    case 'not_finite': {
      // In a union v3 reports the number branch's failed check alone; the message names every branch, as for a wrong type.
      const at = schemaAt(schema, path);
      const options = at instanceof z.ZodUnion ? (at.options as z.ZodType[]).map(typeName) : ['number'];
      return [diag('E_TYPE', `expected ${options.map(expectedName).join(' or ')}, got ${describe(found.value)}`, locate(field))];
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
    case 'integer':
      return 'a whole number';
    default:
      return expected;
  }
}

/** A short description of a YAML value for messages, never the whole value. */
function describe(value: unknown): string {
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
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, seg)) return { present: false };
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
    else if (s instanceof z.ZodRecord) s = s.valueSchema as z.ZodType;
    else return undefined;
    if (s === undefined) return undefined;
    s = unwrap(s);
  }
  return s;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodDefault) s = s.removeDefault() as z.ZodType;
    else if (s instanceof z.ZodEffects) s = s.innerType() as z.ZodType;
    else return s;
  }
}

/** The parsed-type name (as in an invalid_type issue's `expected`) a primitive schema accepts. */
function typeName(s: z.ZodType): string {
  if (s instanceof z.ZodString) return 'string';
  if (s instanceof z.ZodNumber) return 'number';
  if (s instanceof z.ZodBoolean) return 'boolean';
  return 'a different value';
}

function allowedKeys(schema: z.ZodType | undefined): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}
