/**
 * Checking a FlowMatch that arrives as JSON (an API request, a hand-edited contracts file)
 * rather than from parseFlow: the shape of every field, then the same normalisation and
 * prerequisite checks as the parser, by way of the canonical text.
 */
import { diag, fail, ok, type Diagnostic, type Location, type Result } from '../../diagnostics/index.js';
import { normaliseField, orderMatch, type FieldValue } from './field-ops.js';
import { fieldSpec, fullMask, isFieldName, type FieldName, type FlowMatch } from './fields.js';
import { parseFlow } from './parse.js';
import { printFlow } from './print.js';

const isUint = (x: unknown, max: number): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= max;

function shapeError(name: FieldName, v: unknown): string | undefined {
  const spec = fieldSpec(name);
  if (typeof v !== 'object' || v === null) return 'must be an object with value and mask';
  const o = v as Record<string, unknown>;
  if (spec.kind === 'wide') {
    const ok16 = (a: unknown) => Array.isArray(a) && a.length === spec.words && a.every((w) => isUint(w, 0xffff));
    if (!ok16(o.value) || !ok16(o.mask)) return `value and mask must be arrays of ${spec.words} 16-bit numbers`;
    return undefined;
  }
  const max = spec.kind === 'port' ? 0xffff : fullMask(spec.bits);
  if (!isUint(o.value, max) || !isUint(o.mask, max)) return `value and mask must be whole numbers from 0 to ${max}`;
  if (o.range !== undefined) {
    if (spec.kind !== 'port') return 'only tp_src and tp_dst take a range';
    const r = o.range as Record<string, unknown> | null;
    if (typeof r !== 'object' || r === null || !isUint(r.from, 0xffff) || !isUint(r.to, 0xffff))
      return 'range must be {from, to} with ports 0..65535';
    if ((r.from as number) > (r.to as number)) return 'range is inverted';
  }
  return undefined;
}

/**
 * A FlowMatch from untrusted JSON, normalised; errors name the field (`loc.field` is
 * `<fieldPrefix>.<name>`) and what is wrong with it.
 */
export function validateFlowMatch(x: unknown, loc?: Location, fieldPrefix = 'flow'): Result<FlowMatch> {
  const where = (name?: string): Location => ({ ...loc, field: name ? `${fieldPrefix}.${name}` : fieldPrefix });
  if (typeof x !== 'object' || x === null || Array.isArray(x))
    return fail(diag('E_FLOW_BAD_VALUE', 'a flow match must be an object of fields', where()));
  const errors: Diagnostic[] = [];
  const fields: Partial<Record<FieldName, FieldValue>> = {};
  for (const [name, v] of Object.entries(x)) {
    if (!isFieldName(name)) {
      errors.push(diag('E_FLOW_UNKNOWN_FIELD', `unknown field ${JSON.stringify(name)}`, where(name)));
      continue;
    }
    const why = shapeError(name, v);
    if (why) {
      errors.push(diag('E_FLOW_BAD_VALUE', `${name} ${why}`, where(name)));
      continue;
    }
    const spec = fieldSpec(name);
    const mask = (v as { mask: unknown }).mask;
    if (!spec.maskable && spec.kind === 'num' && mask !== 0 && mask !== spec.exactMask) {
      // Flow text would read such a mask as "exact" (OVS's all-ones rule), which is not what the JSON says.
      errors.push(
        diag('E_FLOW_NOT_MASKABLE', `${name} cannot be masked in OVS; mask must be 0x${spec.exactMask.toString(16)}`, where(name)),
      );
      continue;
    }
    const n = normaliseField(name, v as FieldValue);
    if (n === null) errors.push(diag('E_FLOW_CONFLICT', `${name} matches no packet`, where(name)));
    else if (n !== 'any') fields[name] = n;
  }
  if (errors.length > 0) return fail(errors);
  const text = printFlow(orderMatch(fields));
  const r = parseFlow(text);
  if (!r.ok) return fail(r.errors.map((e) => diag(e.code, `${e.message} (in ${JSON.stringify(text)})`, where())));
  return ok(r.value);
}
