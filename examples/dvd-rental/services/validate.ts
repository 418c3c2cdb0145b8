/** Validation of request bodies and headers; every failure names the field and the rule. */
import type { IncomingHttpHeaders } from 'node:http';
import { bad, good, type Checked } from './checked.js';

const MAX_INT4 = 2_147_483_647;
const DIGITS = /^[1-9][0-9]{0,9}$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}\.[^\s@]{1,63}$/;

export function jsonObject(body: unknown): Checked<Record<string, unknown>> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return bad('request body must be a JSON object');
  return good(body as Record<string, unknown>);
}

/** A database id (PostgreSQL `integer`): a positive integer, given as a number or a digit string. */
export function positiveId(value: unknown, field: string): Checked<number> {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && DIGITS.test(value)) n = Number(value);
  else return bad(`${field} must be a positive integer`);
  if (!Number.isInteger(n) || n < 1 || n > MAX_INT4) return bad(`${field} must be a positive integer up to ${MAX_INT4}`);
  return good(n);
}

export function text(value: unknown, field: string, maxLength: number): Checked<string> {
  if (typeof value !== 'string') return bad(`${field} must be a string`);
  const trimmed = value.trim();
  if (trimmed.length === 0) return bad(`${field} must not be empty`);
  if (trimmed.length > maxLength) return bad(`${field} must be at most ${maxLength} characters`);
  return good(trimmed);
}

export function email(value: unknown, field: string): Checked<string> {
  const s = text(value, field, 254);
  if (!s.ok) return s;
  if (!EMAIL.test(s.value)) return bad(`${field} must be an e-mail address`);
  return good(s.value.toLowerCase());
}

/** A money amount: finite, positive, at most `max`, with at most two decimals. */
export function amount(value: unknown, field: string, max: number): Checked<number> {
  if (typeof value !== 'number' || !Number.isFinite(value)) return bad(`${field} must be a number`);
  if (value <= 0 || value > max) return bad(`${field} must be greater than 0 and at most ${max}`);
  if (Math.round(value * 100) !== value * 100) return bad(`${field} must have at most two decimals`);
  return good(value);
}

/** The end user on whose behalf a request is made, from the `x-user-id` header. */
export function userIdHeader(headers: IncomingHttpHeaders): Checked<number | undefined> {
  const raw = headers['x-user-id'];
  if (raw === undefined) return good(undefined);
  if (Array.isArray(raw)) return bad('x-user-id must appear once');
  return positiveId(raw, 'x-user-id header');
}
