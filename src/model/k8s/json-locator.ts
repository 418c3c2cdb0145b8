/**
 * Positions in JSON manifests without a YAML parse. API list output (`kubectl get -o json`)
 * runs to megabytes, which `JSON.parse` reads many times faster than the YAML parser; the
 * locator then finds a field's line and column by scanning the text only when asked, and
 * remembers where each array's elements start, so locating `items[4711]` does not rescan
 * the items before it.
 */
import type { Location } from '../../diagnostics/index.js';
import type { Locator } from '../locator.js';

export function jsonLocator(text: string, file: string): Locator {
  let lineStarts: number[] | null = null;
  const elements = new Map<number, number[]>();

  const position = (offset: number): { line: number; col: number } => {
    if (!lineStarts) {
      lineStarts = [0];
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
    }
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - lineStarts[lo] + 1 };
  };

  const members = new Map<number, Member[]>();
  const membersOf = (open: number): Member[] => {
    let list = members.get(open);
    if (!list) {
      list = scanMembers(text, open);
      members.set(open, list);
    }
    return list;
  };

  const elementStarts = (open: number): number[] => {
    let list = elements.get(open);
    if (list) return list;
    list = [];
    let i = skipSpace(text, open + 1);
    while (i < text.length && text[i] !== ']') {
      list.push(i);
      i = skipSpace(text, skipValue(text, i));
      if (text[i] === ',') i = skipSpace(text, i + 1);
      else break;
    }
    elements.set(open, list);
    return list;
  };

  return (field, at = 'value') => {
    const found = find(text, field, elementStarts, membersOf);
    const pos = position(at === 'key' && found.key !== undefined ? found.key : found.value);
    const loc: Location = { file, line: pos.line, col: pos.col };
    if (field) loc.field = field;
    return loc;
  };
}

/**
 * Follows the field path from the root. Object keys may contain dots (label keys do), so at
 * each object the longest key that the rest of the path starts with wins. A path that leaves
 * the document stops at the deepest value it reached.
 */
function find(
  text: string,
  field: string,
  elementStarts: (open: number) => number[],
  membersOf: (open: number) => Member[],
): { value: number; key?: number } {
  let value = skipSpace(text, 0);
  let key: number | undefined;
  let rest = field;
  while (rest !== '') {
    const c = text[value];
    if (rest[0] === '[') {
      const m = /^\[(\d+)\]/.exec(rest);
      if (!m || c !== '[') break;
      const starts = elementStarts(value);
      const i = Number(m[1]);
      if (i >= starts.length) break;
      value = starts[i];
      key = undefined;
      rest = rest.slice(m[0].length);
    } else {
      if (c !== '{') break;
      const path = rest.startsWith('.') ? rest.slice(1) : rest;
      const hit = memberFor(membersOf(value), path);
      if (!hit) break;
      value = hit.value;
      key = hit.key;
      rest = path.slice(hit.name.length);
    }
  }
  return key === undefined ? { value } : { value, key };
}

interface Member {
  name: string;
  key: number;
  value: number;
}

/** The keys of the object at `open` with the offsets of each key and value, scanned once. */
function scanMembers(text: string, open: number): Member[] {
  const out: Member[] = [];
  let i = skipSpace(text, open + 1);
  while (i < text.length && text[i] === '"') {
    const keyStart = i;
    const keyEnd = skipString(text, i);
    const name = decodeString(text.slice(keyStart, keyEnd));
    i = skipSpace(text, keyEnd);
    if (text[i] !== ':') break;
    const valueStart = skipSpace(text, i + 1);
    out.push({ name, key: keyStart, value: valueStart });
    i = skipSpace(text, skipValue(text, valueStart));
    if (text[i] === ',') i = skipSpace(text, i + 1);
    else break;
  }
  return out;
}

function memberFor(members: readonly Member[], path: string): Member | null {
  let best: Member | null = null;
  for (const m of members) {
    const next = path.charAt(m.name.length);
    if (path.startsWith(m.name) && (next === '' || next === '.' || next === '[') && (!best || m.name.length > best.name.length)) best = m;
  }
  return best;
}

function decodeString(literal: string): string {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return literal.slice(1, -1);
  }
}

function skipSpace(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

function skipString(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text[j];
    if (c === '\\') j++;
    else if (c === '"') return j + 1;
  }
  return text.length;
}

/** The offset just past the value starting at `i` (the text already parsed as JSON). */
function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return skipString(text, i);
  if (c !== '{' && c !== '[') {
    while (i < text.length && !',}] \n\r\t'.includes(text[i])) i++;
    return i;
  }
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const d = text[j];
    if (d === '"') j = skipString(text, j) - 1;
    else if (d === '{' || d === '[') depth++;
    else if (d === '}' || d === ']') {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  return text.length;
}
