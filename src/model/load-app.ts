import { readFileSync, statSync } from 'node:fs';
import { diag, fail, type Result } from '../diagnostics/index.js';
import { parseApp } from './parse-app.js';
import type { App } from './types.js';

/** Descriptors are small; a huge file is a mistake or an attack, not an application. */
const MAX_DESCRIPTOR_BYTES = 4 * 1024 * 1024;

/** Reads and validates a descriptor file (the I/O edge of parseApp). */
export function loadApp(path: string): Result<App> {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_DESCRIPTOR_BYTES) {
      return fail(diag('E_READ', `descriptor is ${size} bytes; the limit is ${MAX_DESCRIPTOR_BYTES}`, { file: path }));
    }
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.message;
    return fail(diag('E_READ', `cannot read descriptor: ${why}`, { file: path }));
  }
  return parseApp(text, path);
}
