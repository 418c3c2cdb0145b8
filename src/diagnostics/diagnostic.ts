import type { DiagCode } from './codes.js';

/**
 * Errors are values: a stable code for programs, a message for a person, and a
 * location that points at the offending input (file:line:col, field, packet number).
 */
export interface Location {
  file?: string;
  line?: number;
  col?: number;
  /** Dotted path of the field in a structured input, e.g. `services.web.ports[0].port`. */
  field?: string;
  /** 1-based packet number in a capture. */
  packet?: number;
}

export interface Diagnostic {
  /** From the registry in codes.ts. */
  code: DiagCode;
  message: string;
  loc?: Location;
}

/** Thrown only at edges (CLI, loaders); carries every diagnostic found, not just the first. */
export class FlowtapError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[] | Diagnostic) {
    const list = Array.isArray(diagnostics) ? diagnostics : [diagnostics];
    super(list.map(formatDiagnostic).join('\n'));
    this.name = 'FlowtapError';
    this.diagnostics = list;
  }
}

export function diag(code: DiagCode, message: string, loc?: Location): Diagnostic {
  return loc ? { code, message, loc } : { code, message };
}

export function formatLocation(loc: Location | undefined): string {
  if (!loc) return '';
  let s = loc.file ?? '';
  if (loc.line !== undefined) s += `${s ? ':' : 'line '}${loc.line}${loc.col !== undefined ? `:${loc.col}` : ''}`;
  if (loc.packet !== undefined) s += `${s ? ' ' : ''}packet ${loc.packet}`;
  if (loc.field) s += `${s ? ' ' : ''}(${loc.field})`;
  return s;
}

/** `file:line:col (field): error CODE: message` — the form editors and people can both follow. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = formatLocation(d.loc);
  return `${where ? where + ': ' : ''}error ${d.code}: ${d.message}`;
}

export type Result<T> = { ok: true; value: T } | { ok: false; errors: Diagnostic[] };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(errors: Diagnostic[] | Diagnostic): Result<T> => ({
  ok: false,
  errors: Array.isArray(errors) ? errors : [errors],
});

/** Unwrap a result at an edge; throws FlowtapError with every diagnostic. */
export function unwrap<T>(r: Result<T>): T {
  if (r.ok) return r.value;
  throw new FlowtapError(r.errors);
}
