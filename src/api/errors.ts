/**
 * Errors as the API answers them: `{ error: { code, message, field? } }` with the HTTP status
 * the code stands for. Diagnostics from below (the orchestrator, the broker, the controller)
 * keep their code; only what is not a diagnostic at all (a bug) becomes E_API_INTERNAL, with
 * no stack in the answer.
 */
import { diag, FlowtapError, type DiagCode, type Diagnostic } from '../diagnostics/index.js';
import { ApiCode } from './codes.js';

export interface ErrorAnswer {
  status: 400 | 401 | 404 | 409 | 500 | 503;
  body: { error: { code: string; message: string; field?: string } };
}

const STATUS: Partial<Record<DiagCode, ErrorAnswer['status']>> = {
  E_API_REQUEST: 400,
  E_API_AUTH: 401,
  E_API_NOT_FOUND: 404,
  E_API_CONFLICT: 409,
  E_API_INTERNAL: 500,
  // Input the deployment itself refuses: named by its field.
  E_UNKNOWN_NODE: 400,
  E_UNKNOWN_INSTANCE: 400,
  E_UNKNOWN_MONITOR: 400,
  E_UNKNOWN_SERVICE: 400,
  E_AGENT_CONTROL: 400,
  E_BROKER_QUERY: 400,
  E_NOT_UP: 404,
  E_REACTION_UNKNOWN: 404,
  E_REACTION_STATE: 409,
  E_CONTROLLER: 409,
  E_RECONFIGURE: 409,
  E_BROKER_UNREACHABLE: 503,
  E_BROKER_UNAVAILABLE: 503,
  E_BROKER_IO: 503,
  E_BROKER_CLOSED: 503,
};

/** A thrown error for the API's own refusals. */
export function apiError(code: DiagCode, message: string, field?: string): FlowtapError {
  return new FlowtapError(diag(code, message, field !== undefined ? { field } : undefined));
}

function answerOf(diagnostics: readonly Diagnostic[]): ErrorAnswer {
  const first = diagnostics[0] ?? diag(ApiCode.INTERNAL, 'failed');
  const field = first.loc?.field;
  return {
    status: STATUS[first.code] ?? 500,
    body: {
      error: {
        code: first.code,
        message: diagnostics.map((d) => d.message).join('; '),
        ...(field ? { field } : {}),
      },
    },
  };
}

/** What any thrown value becomes; `log` hears of the ones that are bugs. */
export function errorAnswer(e: unknown, log: (line: string) => void): ErrorAnswer {
  if (e instanceof FlowtapError) return answerOf(e.diagnostics);
  log(`internal error: ${(e as Error)?.stack ?? String(e)}`);
  return { status: 500, body: { error: { code: ApiCode.INTERNAL, message: 'internal error (logged on the server)' } } };
}
