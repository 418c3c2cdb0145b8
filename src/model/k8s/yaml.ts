/**
 * Splits manifest text (YAML, multi-document, or JSON) into Kubernetes objects,
 * each with a locator that turns a field path into file:line:col. Lists (`kind: List`,
 * and the API's `PodList`, `DeploymentList`, ...) are unpacked into their items; the
 * API leaves `kind` out of the items of a typed list, so it is taken from the list's.
 * A document that is no Kubernetes object (a README in YAML, a values file, a
 * package.json) is skipped with a warning naming it.
 */
import { LineCounter, parseAllDocuments, type Document, type EmptyStream, type YAMLError } from 'yaml';
import { diag, type Diagnostic } from '../../diagnostics/index.js';
import { plainLocator, yamlLocator, type Locator } from '../locator.js';
import { yamlGuards } from '../yaml-guards.js';
import { jsonLocator } from './json-locator.js';

/** Aliases expand on conversion; this caps "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;

export interface RawK8sObject {
  kind: string;
  body: Record<string, unknown>;
  /** Where the object sits in its document: '' or `items[3]` for a List item. */
  field: string;
  locate: Locator;
  /**
   * Locates fields for the model's `loc`. For JSON it names file and field only: positions
   * cost a scan of the text, and only diagnostics need them (`resolve` adds them).
   */
  where: Locator;
}

export interface SplitManifests {
  objects: RawK8sObject[];
  errors: Diagnostic[];
  /** Documents skipped because they are no Kubernetes objects. */
  notes: Diagnostic[];
  /** For JSON text: the positioning locator, to add line and column to a `where` location later. */
  resolve?: Locator;
}

export function splitManifests(text: string, file: string): SplitManifests {
  const out: SplitManifests = { objects: [], errors: [], notes: [] };
  if (/\.json$/i.test(file) || /^\s*[{[]/.test(text)) {
    // JSON is YAML too, but JSON.parse reads it far faster; on any failure the YAML parser
    // reads it again and reports the syntax error with its position. (A duplicate key, which
    // the YAML parser refuses, keeps its last value here.)
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (value !== undefined) {
      const locate = jsonLocator(text, file);
      out.resolve = locate;
      collect(value, '', { locate, where: plainLocator(file) }, out, true);
      return out;
    }
  }
  const lines = new LineCounter();
  let docs: Document.Parsed[] | EmptyStream;
  try {
    docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  } catch (e) {
    out.errors.push(diag('E_YAML_SYNTAX', `cannot parse YAML: ${(e as Error).message}`, { file, line: 1, col: 1 }));
    return out;
  }
  if ('empty' in docs) {
    // Only comments or directives: no objects, but possibly errors.
    for (const e of docs.errors) out.errors.push(yamlDiagnostic(e, lines, file));
    return out;
  }

  for (const doc of docs) {
    const syntax = [...doc.errors, ...doc.warnings].map((e) => yamlDiagnostic(e, lines, file));
    if (syntax.length) {
      out.errors.push(...syntax);
      continue;
    }
    const guards = yamlGuards(doc, lines, file);
    if (guards.length) {
      out.errors.push(...guards);
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      const p = lines.linePos(doc.range[0]);
      out.errors.push(diag('E_YAML_SYNTAX', `cannot expand YAML: ${(e as Error).message}`, { file, line: p.line, col: p.col }));
      continue;
    }
    if (value === null || value === undefined) continue; // empty document between `---` lines
    const locate = yamlLocator(doc, lines, file);
    collect(value, '', { locate, where: locate }, out, docs.length === 1);
  }
  return out;
}

function collect(
  value: unknown,
  field: string,
  locators: { locate: Locator; where: Locator },
  out: SplitManifests,
  wholeFile: boolean,
  itemKind?: string,
): void {
  const locate = locators.locate;
  if (!isRecord(value)) {
    if (field) {
      out.errors.push(diag('E_K8S_NOT_OBJECT', `expected a Kubernetes object (a mapping), got ${describe(value)}`, locate(field)));
    } else {
      out.notes.push(
        diag(
          'W_K8S_NOT_OBJECT',
          `${wholeFile ? 'file' : 'document'} is ${describe(value)}, not a Kubernetes object; skipped`,
          locate(field),
        ),
      );
    }
    return;
  }
  let kind = value.kind;
  if ((kind === undefined || kind === null) && itemKind !== undefined) kind = itemKind;
  if (typeof kind !== 'string' || kind === '') {
    const kindField = field ? `${field}.kind` : 'kind';
    if (field) {
      out.errors.push(diag('E_K8S_NOT_OBJECT', 'a List item needs a "kind" (a string)', locate(kindField)));
    } else {
      out.notes.push(
        diag('W_K8S_NOT_OBJECT', `${wholeFile ? 'file' : 'document'} has no "kind": not a Kubernetes object; skipped`, locate(field)),
      );
    }
    return;
  }
  if (kind.endsWith('List') && (kind === 'List' || Array.isArray(value.items) || value.items == null)) {
    const items = value.items;
    const itemsField = field ? `${field}.items` : 'items';
    if (items === undefined || items === null) return;
    if (!Array.isArray(items)) {
      out.errors.push(diag('E_TYPE', `expected a list of objects, got ${describe(items)}`, locate(itemsField)));
      return;
    }
    // `PodList` holds Pods; a plain `List` says each item's kind itself.
    const implied = kind === 'List' ? undefined : kind.slice(0, -'List'.length) || undefined;
    for (const [i, item] of items.entries()) collect(item, `${itemsField}[${i}]`, locators, out, false, implied);
    return;
  }
  out.objects.push({ kind, body: value, field, locate, where: locators.where });
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
