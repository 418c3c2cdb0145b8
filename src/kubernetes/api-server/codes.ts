/**
 * The stand-in API server's diagnostic codes by name (their meanings live in the one registry,
 * src/diagnostics/codes.ts), and the Kubernetes `Status` each one goes out as: clients such as
 * kubectl and client-go decide what to do from `reason` and `code`, never from the message.
 */
import type { DiagCode } from '../../diagnostics/index.js';

export const KapiCode = {
  NOT_FOUND: 'E_KAPI_NOT_FOUND',
  EXISTS: 'E_KAPI_EXISTS',
  CONFLICT: 'E_KAPI_CONFLICT',
  INVALID: 'E_KAPI_INVALID',
  BAD_REQUEST: 'E_KAPI_BAD_REQUEST',
  EXPIRED: 'E_KAPI_EXPIRED',
  TOO_LARGE: 'E_KAPI_TOO_LARGE',
  METHOD: 'E_KAPI_METHOD',
  MEDIA_TYPE: 'E_KAPI_MEDIA_TYPE',
} as const satisfies Record<string, DiagCode>;

export type KapiCode = (typeof KapiCode)[keyof typeof KapiCode];

/** The `reason` and HTTP `code` of the Status a failure is sent as. */
export const STATUS_OF: Readonly<Record<KapiCode, { reason: string; code: number }>> = {
  E_KAPI_NOT_FOUND: { reason: 'NotFound', code: 404 },
  E_KAPI_EXISTS: { reason: 'AlreadyExists', code: 409 },
  E_KAPI_CONFLICT: { reason: 'Conflict', code: 409 },
  E_KAPI_INVALID: { reason: 'Invalid', code: 422 },
  E_KAPI_BAD_REQUEST: { reason: 'BadRequest', code: 400 },
  E_KAPI_EXPIRED: { reason: 'Expired', code: 410 },
  E_KAPI_TOO_LARGE: { reason: 'RequestEntityTooLarge', code: 413 },
  E_KAPI_METHOD: { reason: 'MethodNotAllowed', code: 405 },
  E_KAPI_MEDIA_TYPE: { reason: 'UnsupportedMediaType', code: 415 },
};
