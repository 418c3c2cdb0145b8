/**
 * CONNECT and INFO carry JSON. JSON.parse signals bad input only by throwing SyntaxError; this
 * turns exactly that into a value and lets anything else (a bug, memory exhaustion) propagate.
 * JSON.parse is iterative in V8, so deep nesting within the bounded line cannot overflow the stack,
 * and `__proto__` keys become plain own properties.
 */
export function parseJsonObject(text: string): Record<string, unknown> | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    if (e instanceof SyntaxError) return null;
    throw e;
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function own(o: Record<string, unknown>, k: string): unknown {
  return Object.hasOwn(o, k) ? o[k] : undefined;
}

export function str(o: Record<string, unknown>, k: string): string {
  const v = own(o, k);
  return typeof v === 'string' ? v : '';
}

export function bool(o: Record<string, unknown>, k: string): boolean {
  return own(o, k) === true;
}

export function boolOr(o: Record<string, unknown>, k: string, otherwise: boolean): boolean {
  const v = own(o, k);
  return typeof v === 'boolean' ? v : otherwise;
}

export function num(o: Record<string, unknown>, k: string): number | null {
  const v = own(o, k);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Present and not empty: for secrets whose value must never be reported. */
export function present(o: Record<string, unknown>, k: string): boolean {
  const v = own(o, k);
  return v !== undefined && v !== null && v !== '';
}
