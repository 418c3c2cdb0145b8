import type { Document, LineCounter } from 'yaml';
import { isMap, isPair, isScalar, isSeq } from 'yaml';
import { diag, type Diagnostic } from '../diagnostics/index.js';

/** Deeper than any descriptor needs; bounds every recursive walk over hostile input. */
const MAX_DEPTH = 32;

/**
 * Rejects what later stages must never see: keys that would touch an object's
 * prototype once turned into JavaScript, and absurd nesting.
 */
export function yamlGuards(doc: Document, lines: LineCounter, file: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (offset: number | undefined) => {
    const p = lines.linePos(offset ?? 0);
    return { file, line: p.line, col: p.col };
  };
  let tooDeep = false;
  const walk = (node: unknown, depth: number): void => {
    if (depth > MAX_DEPTH) {
      if (!tooDeep)
        out.push(diag('E_YAML_SYNTAX', `nesting deeper than ${MAX_DEPTH} levels`, at((node as { range?: number[] }).range?.[0])));
      tooDeep = true;
      return;
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        if (isScalar(pair.key) && pair.key.value === '__proto__') {
          out.push(diag('E_NAME', 'the key "__proto__" is not allowed anywhere in a descriptor', at(pair.key.range?.[0])));
        } else if (pair.key !== null && !isScalar(pair.key)) {
          out.push(
            diag('E_YAML_SYNTAX', 'keys must be plain strings, not lists or mappings', at((pair.key as { range?: number[] }).range?.[0])),
          );
        }
        walk(pair.value, depth + 1);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) walk(item, depth + 1);
    }
  };
  walk(doc.contents, 0);
  return out;
}
