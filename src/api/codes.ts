/** The API's diagnostic codes by name (their meanings live in the one registry, src/diagnostics/codes.ts). */
import type { DiagCode } from '../diagnostics/index.js';

export const ApiCode = {
  REQUEST: 'E_API_REQUEST',
  AUTH: 'E_API_AUTH',
  NOT_FOUND: 'E_API_NOT_FOUND',
  CONFLICT: 'E_API_CONFLICT',
  INTERNAL: 'E_API_INTERNAL',
  TOKEN: 'E_API_TOKEN',
} as const satisfies Record<string, DiagCode>;
