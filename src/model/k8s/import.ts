/**
 * Imports Kubernetes manifests (a directory of .yaml/.yml/.json files, or files)
 * into flowtap's model. `parseK8sManifests` is the pure core; `importK8sManifests`
 * is its file-reading edge.
 */
import { readdirSync, readFileSync, statSync, type Dirent, type Stats } from 'node:fs';
import { basename, join } from 'node:path';
import { diag, fail, ok, type Diagnostic, type Result } from '../../diagnostics/index.js';
import { assembleImport, type K8sImportOptions } from './app.js';
import { FieldReader } from './fields.js';
import { readObject, type ReadObjects } from './objects.js';
import type { Locator } from '../locator.js';
import type { K8sImport } from './types.js';
import { splitManifests } from './yaml.js';

export type { K8sImportOptions } from './app.js';

export interface ManifestFile {
  file: string;
  text: string;
}

/**
 * `kubectl get pods -A -o json` of a large cluster runs to tens of megabytes (managedFields
 * included); a single file beyond this is a mistake or an attack.
 */
const MAX_MANIFEST_BYTES = 128 * 1024 * 1024;
const MAX_MANIFEST_FILES = 10000;
const MANIFEST_EXTENSIONS = /\.(ya?ml|json)$/i;

export function importK8sManifests(dirOrFiles: string | readonly string[], opts: K8sImportOptions = {}): Result<K8sImport> {
  const paths = typeof dirOrFiles === 'string' ? [dirOrFiles] : [...dirOrFiles];
  const errors: Diagnostic[] = [];
  const listed: string[] = [];
  for (const path of paths) listManifests(path, listed, errors);
  if (errors.length) return fail(errors);
  if (listed.length === 0)
    return fail(diag('E_K8S_NO_MANIFESTS', `no .yaml, .yml or .json files in ${paths.join(', ')}`, { file: paths[0] }));
  if (listed.length > MAX_MANIFEST_FILES)
    return fail(diag('E_K8S_NO_MANIFESTS', `${listed.length} manifest files; the limit is ${MAX_MANIFEST_FILES}`, { file: paths[0] }));

  const files: ManifestFile[] = [];
  for (const file of listed) {
    try {
      const size = statSync(file).size;
      if (size > MAX_MANIFEST_BYTES) {
        errors.push(diag('E_READ', `manifest is ${size} bytes; the limit is ${MAX_MANIFEST_BYTES}`, { file }));
        continue;
      }
      files.push({ file, text: readFileSync(file, 'utf8') });
    } catch (e) {
      errors.push(diag('E_READ', `cannot read manifest: ${(e as Error).message}`, { file }));
    }
  }
  if (errors.length) return fail(errors);
  const name = opts.name ?? (paths.length === 1 && isDirectory(paths[0]) ? basename(paths[0]) : undefined);
  return parseK8sManifests(files, { ...opts, ...(name !== undefined ? { name } : {}) });
}

export function parseK8sManifests(files: readonly ManifestFile[], opts: K8sImportOptions = {}): Result<K8sImport> {
  const errors: Diagnostic[] = [];
  const notes: Diagnostic[] = [];
  const read: ReadObjects = { namespaces: [], workloads: [], policies: [], services: [], adminPolicies: [], ingresses: [] };
  const resolvers = new Map<string, Locator>();
  for (const { file, text } of files) {
    const split = splitManifests(text, file);
    errors.push(...split.errors);
    notes.push(...split.notes);
    if (split.resolve) resolvers.set(file, split.resolve);
    for (const obj of split.objects) {
      const reader = new FieldReader(obj.locate, errors, notes, obj.where);
      if (readObject(obj, reader, read) === 'ignored') {
        notes.push(
          diag('W_K8S_IGNORED_KIND', `kind ${obj.kind} is not modelled; ignored`, obj.locate(obj.field ? `${obj.field}.kind` : 'kind')),
        );
      }
    }
  }
  if (errors.length) return fail(sortDiagnostics(errors));
  const assembled = assembleImport(read, notes, opts);
  if (!assembled.ok) return fail(sortDiagnostics(positioned(assembled.errors, resolvers)));
  return ok({ ...assembled.value, notes: sortDiagnostics(positioned(notes, resolvers)) });
}

/** `namespace/name` -> workload kind, for printing `ns/name[Kind]`. */
export function k8sWorkloadKinds(imp: K8sImport): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of imp.workloads) out[w.id] = w.kind;
  return out;
}

function listManifests(path: string, out: string[], errors: Diagnostic[]): void {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    errors.push(diag('E_READ', err.code === 'ENOENT' ? 'no such file or directory' : err.message, { file: path }));
    return;
  }
  if (!st.isDirectory()) {
    out.push(path);
    return;
  }
  // Sorted and without following symlinked directories: the same tree always reads the same way.
  const walk = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      errors.push(diag('E_READ', `cannot list directory: ${(e as Error).message}`, { file: dir }));
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if ((entry.isFile() || entry.isSymbolicLink()) && MANIFEST_EXTENSIONS.test(entry.name)) out.push(full);
      if (out.length > MAX_MANIFEST_FILES) return;
    }
  };
  walk(path);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Adds line and column to diagnostics that point at a JSON object by field only. */
function positioned(list: Diagnostic[], resolvers: ReadonlyMap<string, Locator>): Diagnostic[] {
  return list.map((d) => {
    const loc = d.loc;
    const resolve = loc?.file !== undefined && loc.line === undefined ? resolvers.get(loc.file) : undefined;
    return resolve && loc ? { ...d, loc: resolve(loc.field ?? '') } : d;
  });
}

function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return list.sort(
    (a, b) =>
      (a.loc?.file ?? '').localeCompare(b.loc?.file ?? '') ||
      (a.loc?.line ?? 0) - (b.loc?.line ?? 0) ||
      (a.loc?.col ?? 0) - (b.loc?.col ?? 0),
  );
}
