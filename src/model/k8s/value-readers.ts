/**
 * Reads of values that several object kinds share: label selectors, protocols, port
 * names and IPv4 blocks, with Kubernetes' defaults and the same diagnostics everywhere.
 */
import { parseIpv4Cidr, type Ipv4Cidr } from '../../net/index.js';
import { childField } from '../field-path.js';
import { type FieldReader, isLabelKey } from './fields.js';
import { KNOWN } from './known-fields.js';
import type { K8sLabelSelector, K8sProtocol, K8sSelectorRequirement } from './types.js';

/** IANA service name, the form of a named container port. */
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function portName(v: unknown, field: string, r: FieldReader): string | undefined {
  const s = r.string(v, field);
  if (s === undefined) return undefined;
  if (s.length > 15 || !PORT_NAME.test(s)) {
    // Refused by the API server; it still names the same container port, so it is kept.
    r.note('W_K8S_NAME', `"${s}" is not a port name (at most 15 of a-z, 0-9, "-", with a letter); analysed as written`, field);
  }
  return s;
}

export function readProtocol(v: unknown, field: string, r: FieldReader): K8sProtocol | undefined {
  const s = r.string(v, field);
  if (s === undefined) return v === undefined || v === null ? 'TCP' : undefined;
  if (s === 'TCP' || s === 'UDP' || s === 'SCTP') return s;
  return r.error('E_ENUM', `protocol "${s}" is not one of TCP, UDP, SCTP`, field);
}

/** Like Kubernetes, accepts host bits (`10.0.0.1/8` is `10.0.0.0/8`). */
export function readCidr(text: string, field: string, r: FieldReader): Ipv4Cidr | undefined {
  const parsed = parseIpv4Cidr(text, { hostBits: 'clear' });
  if (!parsed.ok) return r.error('E_CIDR', `"${text}" is not an IPv4 CIDR block (a.b.c.d/n): ${parsed.reason}`, field);
  return parsed.cidr;
}

export function readSelector(v: unknown, field: string, r: FieldReader): K8sLabelSelector | undefined {
  if (v === undefined || v === null) return undefined;
  const sel = r.object(v, field);
  if (!sel) return undefined;
  r.known(sel, field, KNOWN.selector);
  const matchLabels = r.labels(sel.matchLabels, `${field}.matchLabels`);
  const matchExpressions: K8sSelectorRequirement[] = [];
  (r.list(sel.matchExpressions, `${field}.matchExpressions`) ?? []).forEach((e, i) => {
    const ef = `${field}.matchExpressions[${i}]`;
    const expr = r.object(e, ef);
    if (!expr) return;
    r.known(expr, ef, KNOWN.selectorRequirement);
    const key = r.string(expr.key, `${ef}.key`, true);
    const operator = r.string(expr.operator, `${ef}.operator`, true);
    const valuesRaw = r.list(expr.values, `${ef}.values`) ?? [];
    const values: string[] = [];
    valuesRaw.forEach((val, j) => {
      if (typeof val === 'string') values.push(val);
      else r.error('E_TYPE', `selector values are strings; got ${JSON.stringify(val)} (quote it)`, childField(`${ef}.values`, j));
    });
    if (key === undefined || operator === undefined) return;
    if (!isLabelKey(key)) r.note('W_K8S_NAME', `"${key}" is not a valid label key; the API server would refuse it`, `${ef}.key`);
    if (operator === 'In' || operator === 'NotIn') {
      if (values.length === 0) {
        r.error('E_K8S_SELECTOR', `operator ${operator} needs at least one value`, `${ef}.values`);
        return;
      }
    } else if (operator === 'Exists' || operator === 'DoesNotExist') {
      if (valuesRaw.length > 0) {
        r.error('E_K8S_SELECTOR', `operator ${operator} takes no values`, `${ef}.values`);
        return;
      }
    } else {
      r.error('E_K8S_SELECTOR', `operator "${operator}" is not one of In, NotIn, Exists, DoesNotExist`, `${ef}.operator`);
      return;
    }
    matchExpressions.push({ key, operator, values });
  });
  return { matchLabels, matchExpressions };
}
