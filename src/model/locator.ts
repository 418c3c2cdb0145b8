import type { Document, LineCounter, Node as YamlNode } from 'yaml';
import { isMap, isPair, isScalar, isSeq } from 'yaml';
import type { Location } from '../diagnostics/index.js';
import { childField, parentField } from './field-path.js';

/**
 * Turns a field path into a Location. `at: 'key'` points at the key of a mapping
 * entry (for errors about the key itself, like a bad service name).
 */
export type Locator = (field: string, at?: 'key' | 'value') => Location;

/** For models that did not come from a file with positions: names the field only. */
export function plainLocator(file?: string): Locator {
  return (field) => {
    const loc: Location = {};
    if (file !== undefined) loc.file = file;
    if (field) loc.field = field;
    return loc;
  };
}

interface Offsets {
  key?: number;
  value?: number;
}

/**
 * Indexes every mapping entry and sequence item of a parsed YAML document by
 * field path once, so each lookup is a map hit. A field that does not exist
 * (a missing key) resolves to its nearest existing ancestor.
 */
export function yamlLocator(doc: Document, lines: LineCounter, file: string): Locator {
  const index = new Map<string, Offsets>();
  const root = doc.contents as YamlNode | null;
  index.set('', { value: root?.range?.[0] ?? 0 });
  if (root) indexNode(root, '', index);

  return (field, at = 'value') => {
    let f: string | null = field;
    let offsets: Offsets | undefined;
    while (f !== null) {
      offsets = index.get(f);
      if (offsets) break;
      f = parentField(f);
    }
    const offset = (at === 'key' ? (offsets?.key ?? offsets?.value) : (offsets?.value ?? offsets?.key)) ?? 0;
    const pos = lines.linePos(offset);
    const loc: Location = { file, line: pos.line, col: pos.col };
    if (field) loc.field = field;
    return loc;
  };
}

function indexNode(node: unknown, field: string, index: Map<string, Offsets>): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const f = childField(field, String(pair.key.value));
      if (index.has(f)) continue; // duplicate key: already reported, keep the first
      const keyOffset = pair.key.range?.[0];
      const value = pair.value as YamlNode | null;
      const valueOffset = value?.range?.[0];
      index.set(f, { key: keyOffset, value: valueOffset ?? keyOffset });
      indexNode(value, f, index);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const f = childField(field, i);
      const offset = (item as YamlNode | null)?.range?.[0];
      index.set(f, { value: offset });
      indexNode(item, f, index);
    });
  }
}
