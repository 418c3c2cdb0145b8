import { LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import type { z } from 'zod/v3';
import { diag, fail, ok, type Diagnostic, type Result } from '../diagnostics/index.js';
import { sortByPosition } from './check/index.js';
import { yamlLocator, type Locator } from './locator.js';
import { checkShape } from './schema-issues.js';
import { yamlGuards } from './yaml-guards.js';

/** Aliases expand on conversion; this caps "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;

/**
 * Reads one YAML (or JSON) document with every syntax problem positioned, and a locator
 * that maps a field path back to its line and column for later checks.
 */
export function readYamlDocument(text: string, file: string, what: string): Result<{ raw: unknown; locate: Locator }> {
  const lines = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, keepSourceTokens: false });
  } catch (e) {
    // The parser is tolerant, but hostile input (deep nesting) can still exhaust the stack.
    return fail(diag('E_YAML_SYNTAX', `cannot parse YAML: ${(e as Error).message}`, { file, line: 1, col: 1 }));
  }
  const syntax = [...doc.errors, ...doc.warnings].map((e) => yamlDiagnostic(e, lines, file, text));
  if (syntax.length) return fail(sortByPosition(syntax));
  const guards = yamlGuards(doc, lines, file);
  if (guards.length) return fail(guards);
  if (doc.contents === null) return fail(diag('E_TYPE', `the file is empty: expected ${what}`, { file, line: 1, col: 1 }));
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    return fail(diag('E_YAML_SYNTAX', `cannot expand YAML: ${(e as Error).message}`, { file, line: 1, col: 1 }));
  }
  return ok({ raw, locate: yamlLocator(doc, lines, file) });
}

/** A YAML/JSON document checked against a zod schema, every issue positioned. */
export function parseYamlShape<T>(
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
  text: string,
  file: string,
  what: string,
): Result<{ value: T; locate: Locator }> {
  const doc = readYamlDocument(text, file, what);
  if (!doc.ok) return doc;
  const shaped = checkShape(schema, doc.value.raw, '', doc.value.locate);
  return shaped.ok ? ok({ value: shaped.value, locate: doc.value.locate }) : fail(sortByPosition(shaped.errors));
}

function yamlDiagnostic(e: YAMLError, lines: LineCounter, file: string, text: string): Diagnostic {
  const p = lines.linePos(e.pos[0]);
  const code = e.code === 'DUPLICATE_KEY' ? 'E_DUPLICATE_KEY' : 'E_YAML_SYNTAX';
  const key = text
    .slice(e.pos[0], e.pos[0] + 80)
    .split(/[:\n]/)[0]
    .trim();
  const message =
    e.code === 'DUPLICATE_KEY'
      ? `duplicate key "${key}": map keys must be unique, and this one appears earlier in the same mapping`
      : `${e.message.split('\n')[0]} (${e.code})`;
  return diag(code, message, { file, line: p.line, col: p.col });
}
