/**
 * JSON patch (RFC 6902): a list of add, remove, replace, move, copy and test operations on JSON
 * pointers. The document is copied first, so a patch that fails part way changes nothing. A
 * malformed patch is a BadRequest; an operation that cannot apply (a missing path, a failed
 * test) makes the object Invalid, naming the operation.
 */
import { copy, isMap, type JsonMap, jsonEqual } from './object.js';
import { accept, type Outcome, refuse } from './status.js';

class OpError extends Error {}

function pointer(path: unknown): string[] {
  if (typeof path !== 'string' || (path !== '' && !path.startsWith('/'))) throw new OpError(`not a JSON pointer: ${JSON.stringify(path)}`);
  return path === ''
    ? []
    : path
        .slice(1)
        .split('/')
        .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function index(list: unknown[], token: string, forAdd: boolean): number {
  if (forAdd && token === '-') return list.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new OpError(`not a list index: ${token}`);
  const i = Number(token);
  if (i > list.length || (!forAdd && i === list.length)) throw new OpError(`list index out of range: ${token}`);
  return i;
}

function parentOf(doc: unknown, tokens: string[]): unknown {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[index(cur, t, false)];
    else if (isMap(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else throw new OpError(`path does not exist: /${tokens.join('/')}`);
  }
  return cur;
}

function get(doc: unknown, tokens: string[]): unknown {
  if (!tokens.length) return doc;
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) return parent[index(parent, last, false)];
  if (isMap(parent) && Object.hasOwn(parent, last)) return parent[last];
  throw new OpError(`path does not exist: /${tokens.join('/')}`);
}

/** Returns the new document (the root may be replaced). */
function add(doc: unknown, tokens: string[], value: unknown): unknown {
  if (!tokens.length) return value;
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(index(parent, last, true), 0, value);
  else if (isMap(parent)) (parent as JsonMap)[last] = value;
  else throw new OpError(`cannot add below a value that is neither a map nor a list: /${tokens.join('/')}`);
  return doc;
}

function remove(doc: unknown, tokens: string[]): unknown {
  if (!tokens.length) throw new OpError('cannot remove the whole document');
  get(doc, tokens);
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(index(parent, last, false), 1);
  else delete (parent as JsonMap)[last];
  return doc;
}

export function applyJsonPatch(original: unknown, patch: unknown): Outcome<unknown> {
  if (!Array.isArray(patch)) return refuse('E_KAPI_BAD_REQUEST', 'a JSON patch must be a list of operations');
  let doc = copy(original);
  for (const [i, op] of patch.entries()) {
    if (!isMap(op) || typeof op.op !== 'string') return refuse('E_KAPI_BAD_REQUEST', `JSON patch operation ${i} has no "op"`);
    try {
      const path = pointer(op.path);
      switch (op.op) {
        case 'add':
          if (!Object.hasOwn(op, 'value')) throw new OpError('missing "value"');
          doc = add(doc, path, copy(op.value));
          break;
        case 'remove':
          doc = remove(doc, path);
          break;
        case 'replace':
          if (!Object.hasOwn(op, 'value')) throw new OpError('missing "value"');
          get(doc, path);
          doc = path.length ? add(remove(doc, path), path, copy(op.value)) : copy(op.value);
          break;
        case 'move': {
          const from = pointer(op.from);
          const value = get(doc, from);
          doc = add(remove(doc, from), path, value);
          break;
        }
        case 'copy':
          doc = add(doc, path, copy(get(doc, pointer(op.from))));
          break;
        case 'test':
          if (!jsonEqual(get(doc, path), op.value)) throw new OpError('testing value failed');
          break;
        default:
          return refuse('E_KAPI_BAD_REQUEST', `JSON patch operation ${i}: unknown op ${JSON.stringify(op.op)}`);
      }
    } catch (e) {
      if (e instanceof OpError)
        return refuse(
          'E_KAPI_INVALID',
          `the server rejected our request due to an error in our request: JSON patch operation ${i} (${op.op}): ${e.message}`,
        );
      throw e;
    }
  }
  return accept(doc);
}
