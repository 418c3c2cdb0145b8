/**
 * Exit codes shared by every command: 0 fine, 1 violations found, 2 bad input.
 * Anything else escaping a command is a bug in flowtap and exits 3 with its stack.
 */
import { FlowtapError, formatDiagnostic, type Diagnostic, type Result } from '../diagnostics/index.js';

export const EXIT_OK = 0;
export const EXIT_VIOLATIONS = 1;
export const EXIT_BAD_INPUT = 2;
const EXIT_BUG = 3;

export interface Io {
  out(s: string): void;
  err(s: string): void;
}

export const processIo: Io = {
  out: (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  err: (s) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
};

/** Runs a command body and maps its outcome to an exit code; prints diagnostics (as JSON with --json). */
export async function runCommand(io: Io, json: boolean, body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof FlowtapError) {
      reportDiagnostics(io, json, e.diagnostics);
      return EXIT_BAD_INPUT;
    }
    io.err(`flowtap: internal error: ${(e as Error)?.stack ?? String(e)}`);
    return EXIT_BUG;
  }
}

export function reportDiagnostics(io: Io, json: boolean, diagnostics: Diagnostic[]): void {
  if (json) io.out(JSON.stringify({ ok: false, errors: diagnostics }, null, 2));
  else for (const d of diagnostics) io.err(formatDiagnostic(d));
}

export function need<T>(r: Result<T>): T {
  if (r.ok) return r.value;
  throw new FlowtapError(r.errors);
}
