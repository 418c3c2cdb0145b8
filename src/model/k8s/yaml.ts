/**
 * Splits manifest text (YAML, multi-document, or JSON) into Kubernetes objects,
 * each with a locator that turns a field path into file:line:col. `kind: List`
 * objects are unpacked into their items.
 */
import { LineCounter, parseAllDocuments, type Document, type EmptyStream, type YAMLError } from 'yaml';
import { diag, type Diagnostic } from '../../diagnostics/index.js';
import { yamlLocator, type Locator } from '../locator.js';
import { yamlGuards } from '../yaml-guards.js';

/** Aliases expand on conversion; this caps "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;

export interface RawK8sObject {
  kind: string;
  body: Record<string, unknown>;
  /** Where the object sits in its document: '' or `items[3]` for a List item. */
  field: string;
  locate: Locator;
}

export function splitManifests(text: string, file: string): { objects: RawK8sObject[]; errors: Diagnostic[] } {
  const lines = new LineCounter();
  const objects: RawK8sObject[] = [];
  const errors: Diagnostic[] = [];
  let docs: Document.Parsed[] | EmptyStream;
  try {
    docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  } catch (e) {
    return { objects, errors: [diag('E_YAML_SYNTAX', `cannot parse YAML: ${(e as Error).message}`, { file, line: 1, col: 1 })] };
  }
  if ('empty' in docs) {
    // Only comments or directives: no objects, but possibly errors.
    for (const e of docs.errors) errors.push(yamlDiagnostic(e, lines, file));
    return { objects, errors };
  }

  for (const doc of docs) {
    const syntax = [...doc.errors, ...doc.warnings].map((e) => yamlDiagnostic(e, lines, file));
    if (syntax.length) {
      errors.push(...syntax);
      continue;
    }
    const guards = yamlGuards(doc, lines, file);
    if (guards.length) {
      errors.push(...guards);
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      const p = lines.linePos(doc.range[0]);
      errors.push(diag('E_YAML_SYNTAX', `cannot expand YAML: ${(e as Error).message}`, { file, line: p.line, col: p.col }));
      continue;
    }
    if (value === null || value === undefined) continue; // empty document between `---` lines
    const locate = yamlLocator(doc, lines, file);
    collect(value, '', locate, objects, errors);
  }
  return { objects, errors };
}

function collect(value: unknown, field: string, locate: Locator, objects: RawK8sObject[], errors: Diagnostic[]): void {
  if (!isRecord(value)) {
    errors.push(diag('E_K8S_NOT_OBJECT', `expected a Kubernetes object (a mapping with "kind"), got ${describe(value)}`, locate(field)));
    return;
  }
  const kind = value.kind;
  if (typeof kind !== 'string' || kind === '') {
    errors.push(
      diag('E_K8S_NOT_OBJECT', 'not a Kubernetes object: "kind" is missing or not a string', locate(field ? `${field}.kind` : 'kind')),
    );
    return;
  }
  if (kind === 'List' || kind.endsWith('List')) {
    const items = value.items;
    const itemsField = field ? `${field}.items` : 'items';
    if (items === undefined || items === null) return;
    if (!Array.isArray(items)) {
      errors.push(diag('E_TYPE', `expected a list of objects, got ${describe(items)}`, locate(itemsField)));
      return;
    }
    for (const [i, item] of items.entries()) collect(item, `${itemsField}[${i}]`, locate, objects, errors);
    return;
  }
  objects.push({ kind, body: value, field, locate });
}

function yamlDiagnostic(e: YAMLError, lines: LineCounter, file: string): Diagnostic {
  const p = lines.linePos(e.pos[0]);
  const code = e.code === 'DUPLICATE_KEY' ? 'E_DUPLICATE_KEY' : 'E_YAML_SYNTAX';
  const message =
    e.code === 'DUPLICATE_KEY' ? `${e.message}: this key appears earlier in the same mapping` : `${e.message.split('\n')[0]} (${e.code})`;
  return diag(code, message, { file, line: p.line, col: p.col });
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string "${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
  return `${typeof v} ${String(v)}`;
}
