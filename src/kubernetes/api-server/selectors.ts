/**
 * Label and field selectors: the query-string forms (`app=web,tier notin (db)`,
 * `spec.nodeName=n1`) that list and watch filter with, and the structured LabelSelector that
 * workloads carry. A malformed selector is a BadRequest naming the selector, as the real server
 * answers it.
 */
import { at, isMap, type KubeObject } from './object.js';
import type { ResourceType } from './resources.js';
import { accept, type Outcome, refuse } from './status.js';

type Op = 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';

interface Requirement {
  key: string;
  op: Op;
  values: string[];
}

/** A parsed label selector; the empty one matches every object. */
export type LabelQuery = readonly Requirement[];

const KEY = '(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?';
const VALUE = '(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?';
const EXISTS = new RegExp(`^(!?)\\s*(${KEY})$`);
const EQUALS = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^()]*)\\)$`);
const ORDER = new RegExp(`^(${KEY})\\s*([<>])\\s*(-?\\d+)$`);
const VALUE_ONLY = new RegExp(`^${VALUE}$`);

/** Splits on commas outside parentheses. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') depth--;
    else if (s[i] === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

export function parseLabelSelector(text: string): Outcome<LabelQuery> {
  if (text.trim() === '') return accept([]);
  const out: Requirement[] = [];
  for (const raw of splitTopLevel(text)) {
    const part = raw.trim();
    const bad = (why: string) =>
      refuse<LabelQuery>('E_KAPI_BAD_REQUEST', `unable to parse requirement: ${why}: ${JSON.stringify(part)}`, undefined, 'labelSelector');
    const set = part.match(SET);
    const equals = set ? null : part.match(EQUALS);
    const order = set || equals ? null : part.match(ORDER);
    const exists = set || equals || order ? null : part.match(EXISTS);
    if (set) {
      const values = set[3].split(',').map((v) => v.trim());
      if (values.some((v) => !VALUE_ONLY.test(v))) return bad('invalid label value');
      if (values.length === 1 && values[0] === '') return bad("for 'in', 'notin' operators, values set can't be empty");
      out.push({ key: set[1], op: set[2] as Op, values });
    } else if (equals) out.push({ key: equals[1], op: equals[2] === '!=' ? '!=' : '=', values: [equals[3]] });
    else if (order) out.push({ key: order[1], op: order[2] === '>' ? 'gt' : 'lt', values: [order[3]] });
    else if (exists) out.push({ key: exists[2], op: exists[1] ? '!exists' : 'exists', values: [] });
    else return bad(part === '' ? 'empty requirement' : 'found an unexpected token or an invalid key or value');
  }
  return accept(out);
}

export function labelsMatch(query: LabelQuery, labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  return query.every((r) => {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case '=':
        return has && v === r.values[0];
      case '!=':
        return !has || v !== r.values[0];
      case 'in':
        return has && r.values.includes(v);
      case 'notin':
        return !has || !r.values.includes(v);
      default: {
        // gt and lt: both sides integers.
        const n = Number(v);
        if (!has || !/^-?\d+$/.test(v)) return false;
        return r.op === 'gt' ? n > Number(r.values[0]) : n < Number(r.values[0]);
      }
    }
  });
}

/**
 * A structured LabelSelector (`matchLabels`, `matchExpressions`) as a query. Empty selects
 * everything; a selector of the wrong shape selects nothing, so a bad workload never grabs pods.
 */
export function selectorQuery(selector: unknown): LabelQuery | undefined {
  if (!isMap(selector)) return undefined;
  const out: Requirement[] = [];
  if (selector.matchLabels !== undefined) {
    if (!isMap(selector.matchLabels)) return undefined;
    for (const [key, value] of Object.entries(selector.matchLabels)) {
      if (typeof value !== 'string') return undefined;
      out.push({ key, op: '=', values: [value] });
    }
  }
  if (selector.matchExpressions !== undefined) {
    if (!Array.isArray(selector.matchExpressions)) return undefined;
    for (const e of selector.matchExpressions) {
      if (!isMap(e) || typeof e.key !== 'string') return undefined;
      const values = Array.isArray(e.values) ? e.values.filter((v): v is string => typeof v === 'string') : [];
      const op = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!exists' } as const)[String(e.operator) as 'In'];
      if (!op) return undefined;
      out.push({ key: e.key, op, values });
    }
  }
  return out;
}

/** A Service's `spec.selector` map; empty or absent selects nothing (such a service has no endpoints managed). */
export function mapSelectorQuery(selector: unknown): LabelQuery | undefined {
  if (!isMap(selector) || Object.keys(selector).length === 0) return undefined;
  return selectorQuery({ matchLabels: selector });
}

interface FieldRequirement {
  field: string;
  equal: boolean;
  value: string;
}

export type FieldQuery = readonly FieldRequirement[];

/** Splits on unescaped commas; `\,` `\=` `\\` stand for themselves. */
function splitEscaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && i + 1 < s.length) {
      cur += s[i] + s[i + 1];
      i++;
    } else if (s[i] === sep) {
      out.push(cur);
      cur = '';
    } else cur += s[i];
  }
  out.push(cur);
  return out;
}

const unescapeValue = (s: string) => s.replace(/\\(.)/g, '$1');

export function parseFieldSelector(text: string, resource: ResourceType): Outcome<FieldQuery> {
  if (text.trim() === '') return accept([]);
  const allowed = new Set(['metadata.name', 'metadata.namespace', ...resource.fields]);
  const out: FieldRequirement[] = [];
  for (const part of splitEscaped(text, ',')) {
    const m = part.match(/^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)(.*)$/);
    if (!m) return refuse('E_KAPI_BAD_REQUEST', `invalid selector: '${text}'; can't understand '${part}'`, undefined, 'fieldSelector');
    if (!allowed.has(m[1])) return refuse('E_KAPI_BAD_REQUEST', `field label not supported: ${m[1]}`, undefined, 'fieldSelector');
    out.push({ field: m[1], equal: m[2] !== '!=', value: unescapeValue(m[3]) });
  }
  return accept(out);
}

function fieldValue(obj: KubeObject, field: string): string {
  const v = at(obj, field);
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return field === 'spec.unschedulable' ? 'false' : '';
}

export function fieldsMatch(query: FieldQuery, obj: KubeObject): boolean {
  return query.every((r) => (fieldValue(obj, r.field) === r.value) === r.equal);
}
