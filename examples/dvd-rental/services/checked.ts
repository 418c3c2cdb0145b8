/**
 * Errors as values for the example services. The services are the *protected application*,
 * deliberately independent of flowtap's own code, so they carry their own tiny result type.
 */
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export function good<T>(value: T): Checked<T> {
  return { ok: true, value };
}

export function bad<T = never>(error: string): Checked<T> {
  return { ok: false, error };
}
