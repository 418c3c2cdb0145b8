/**
 * The broker's diagnostic codes by name, for callers that branch on them (the meanings live in
 * the one registry, src/diagnostics/codes.ts).
 */
import type { DiagCode } from '../diagnostics/index.js';

export const BrokerCode = {
  URL: 'E_BROKER_URL',
  UNREACHABLE: 'E_BROKER_UNREACHABLE',
  UNAVAILABLE: 'E_BROKER_UNAVAILABLE',
  RECORD: 'E_BROKER_RECORD',
  QUERY: 'E_BROKER_QUERY',
  RETENTION: 'E_BROKER_RETENTION',
  SUBJECT: 'E_BROKER_SUBJECT',
  MESSAGE: 'E_BROKER_MESSAGE',
  DURABLE: 'E_BROKER_DURABLE',
  IO: 'E_BROKER_IO',
  CLOSED: 'E_BROKER_CLOSED',
} as const satisfies Record<string, DiagCode>;
