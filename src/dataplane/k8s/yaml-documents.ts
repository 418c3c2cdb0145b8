/**
 * Multi-document YAML (what the exports print and `kubectl get -o yaml` gives) as plain
 * values, each with a locator from a field path to file:line:col. Kept small and local
 * rather than shared with the manifest importer, whose reader models other kinds.
 */
import { type Document, type EmptyStream, isCollection, isScalar, LineCounter, type Node as YamlNode, parseAllDocuments } from 'yaml';
import { diag, type Diagnostic, type Location } from '../../diagnostics/index.js';
import { K8sExportCode } from './codes.js';

/** Policies are small; anything bigger is refused before parsing. */
const MAX_POLICY_TEXT = 8 << 20;
/** Aliases expand on conversion; this caps "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;

export type Locate = (field: string) => Location;

export interface YamlValue {
  value: unknown;
  locate: Locate;
}

export function yamlDocuments(text: string, file: string): { docs: YamlValue[]; errors: Diagnostic[] } {
  const errors: Diagnostic[] = [];
  if (text.length > MAX_POLICY_TEXT) {
    errors.push(diag(K8sExportCode.READ, `${text.length} characters is over the ${MAX_POLICY_TEXT} limit for policy text`, { file }));
    return { docs: [], errors };
  }
  const deep = nestingProblem(text);
  if (deep) {
    errors.push(diag(K8sExportCode.YAML_SYNTAX, deep, { file }));
    return { docs: [], errors };
  }
  const lines = new LineCounter();
  let parsed: Document.Parsed[] | EmptyStream;
  try {
    parsed = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  } catch (e) {
    // Nesting deep enough to exhaust the parser's stack.
    errors.push(diag(K8sExportCode.YAML_SYNTAX, `cannot parse YAML: ${(e as Error).message}`, { file, line: 1, col: 1 }));
    return { docs: [], errors };
  }
  const docs: YamlValue[] = [];
  const list = 'empty' in parsed ? [] : parsed;
  for (const doc of list) {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length) {
      for (const e of problems) {
        const p = lines.linePos(e.pos[0]);
        errors.push(
          diag(e.code === 'DUPLICATE_KEY' ? K8sExportCode.DUPLICATE_KEY : K8sExportCode.YAML_SYNTAX, e.message.split('\n')[0], {
            file,
            line: p.line,
            col: p.col,
          }),
        );
      }
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      const p = lines.linePos(doc.range[0]);
      errors.push(diag(K8sExportCode.YAML_SYNTAX, `cannot expand YAML: ${(e as Error).message}`, { file, line: p.line, col: p.col }));
      continue;
    }
    if (value === null || value === undefined) continue;
    docs.push({ value, locate: locator(doc, lines, file) });
  }
  return { docs, errors };
}

/** Policies nest a dozen levels; the parser recurses per level, so far deeper input is refused before it runs. */
const MAX_NESTING = 200;

/** A cheap upper bound on nesting: flow brackets (also those inside strings, which only overcounts) and indentation. */
function nestingProblem(text: string): string | null {
  let depth = 0;
  let indent = 0;
  let lineStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      lineStart = true;
      indent = 0;
      continue;
    }
    if (lineStart && (c === 32 || c === 45)) {
      // Spaces and "- " both open a level of block nesting.
      if (++indent > 2 * MAX_NESTING) return `indentation deeper than ${2 * MAX_NESTING} columns`;
      continue;
    }
    lineStart = false;
    if (c === 91 || c === 123) {
      if (++depth > MAX_NESTING) return `flow collections nested deeper than ${MAX_NESTING}`;
    } else if ((c === 93 || c === 125) && depth > 0) depth--;
  }
  return null;
}

/** For values that did not come from text: names the field only. */
export const plainLocate: Locate = (field) => (field ? { field } : {});

/** `spec.ingress[0].toPorts` -> ['spec', 'ingress', 0, 'toPorts']. */
function pathOf(field: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  return out;
}

function locator(doc: Document, lines: LineCounter, file: string): Locate {
  return (field) => {
    // The deepest node that exists: a missing key is reported where its parent is.
    let node: unknown = doc.contents;
    let at = (doc.contents as YamlNode | null)?.range?.[0] ?? 0;
    for (const key of pathOf(field)) {
      if (!isCollection(node)) break;
      const child = node.get(key, true) as unknown;
      if (!child || !(isCollection(child) || isScalar(child))) break;
      node = child;
      at = (child as YamlNode).range?.[0] ?? at;
    }
    const p = lines.linePos(at);
    return field ? { file, line: p.line, col: p.col, field } : { file, line: p.line, col: p.col };
  };
}
