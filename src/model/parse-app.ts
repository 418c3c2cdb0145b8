import { fail, ok, type Result } from '../diagnostics/index.js';
import { buildApp } from './build-app.js';
import { checkApp, sortByPosition } from './check/index.js';
import { placeInstances } from './placement.js';
import type { App } from './types.js';
import { readYamlDocument } from './yaml-document.js';

/**
 * Parses and validates a descriptor. On failure returns every problem found,
 * each with file, line, column and field. Phases: YAML syntax; structure
 * (entry by entry); meaning (names, references, ranges, address space).
 */
export function parseApp(text: string, file: string): Result<App> {
  const doc = readYamlDocument(text, file, 'a mapping with tenant, app, nodes and services');
  if (!doc.ok) return doc;
  const { raw, locate } = doc.value;
  const built = buildApp(raw, file, locate);
  const errors = [...built.errors, ...checkApp(built.app, { locate, damaged: built.damaged })];
  if (errors.length) return fail(sortByPosition(errors));
  built.app.instances = placeInstances(built.app);
  return ok(built.app);
}
