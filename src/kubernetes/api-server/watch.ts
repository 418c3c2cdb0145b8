/**
 * WATCH: a chunked response of newline-delimited JSON events, `{"type": ..., "object": ...}`.
 *
 * - resourceVersion "" or "0": a synthetic ADDED for every object that matches, then changes;
 * - resourceVersion N: the changes after N, replayed from the history, then live ones; when the
 *   history no longer reaches N, one ERROR event whose object is a Status 410 Expired, and the
 *   stream ends (what the real server does; clients then list again);
 * - selectors are applied to the object before and after each change, so an object that stops
 *   matching arrives as DELETED and one that starts matching as ADDED;
 * - allowWatchBookmarks=true: every `bookmarkEveryMs` a BOOKMARK whose object carries only kind,
 *   apiVersion and metadata.resourceVersion;
 * - timeoutSeconds ends the stream cleanly; a client too slow to read is cut off rather than
 *   buffered without bound.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Change } from './history.js';
import { type ListQuery, matches, parseSelectors } from './list.js';
import { copy, deepFreeze, type KubeObject } from './object.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import { accept, failure, type Outcome, refuse, statusObject } from './status.js';
import type { ObjectStore } from './store.js';
import { type TableOptions, toTable } from './table.js';

/** A watch with no timeoutSeconds ends after this long, as the real server's (randomised) limit. */
const DEFAULT_TIMEOUT_S = 1800;
/** Bytes a watcher may leave unread before it is dropped. */
const MAX_BACKLOG = 16 << 20;

export interface WatchRequest {
  resource: ResourceType;
  namespace?: string;
  params: URLSearchParams;
  /** Events as Tables (kubectl get --watch), with these options. */
  table?: Omit<TableOptions, 'now' | 'noHeaders'>;
}

interface Watcher {
  resource: ResourceType;
  namespace?: string;
  query: ListQuery;
  res: ServerResponse;
  table?: WatchRequest['table'];
  headersSent: boolean;
  timers: NodeJS.Timeout[];
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

const DIGITS = /^(0|[1-9]\d{0,15})$/;

export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly bookmarkEveryMs: number,
  ) {
    this.unsubscribe = store.subscribe((c) => this.deliver(c));
  }

  get size(): number {
    return this.watchers.size;
  }

  /** Checks the request; on success the stream is open and owned by the hub. */
  open(req: IncomingMessage, res: ServerResponse, w: WatchRequest): Outcome<void> {
    const query = parseSelectors(w.params, w.resource);
    if (!query.ok) return query;
    const rvText = w.params.get('resourceVersion') ?? '';
    if (rvText !== '' && !DIGITS.test(rvText))
      return refuse('E_KAPI_BAD_REQUEST', `resourceVersion must be a number, not ${JSON.stringify(rvText)}`, undefined, 'resourceVersion');
    const timeoutText = w.params.get('timeoutSeconds') ?? '';
    if (timeoutText !== '' && !DIGITS.test(timeoutText))
      return refuse(
        'E_KAPI_BAD_REQUEST',
        `timeoutSeconds must be a non-negative integer, not ${JSON.stringify(timeoutText)}`,
        undefined,
        'timeoutSeconds',
      );
    const watcher: Watcher = {
      resource: w.resource,
      namespace: w.namespace,
      query: query.value,
      res,
      table: w.table,
      headersSent: false,
      timers: [],
    };
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();

    const from = rvText === '' ? 0 : Number(rvText);
    if (from === 0) {
      const current = this.store.items(w.resource, w.namespace);
      if (current.ok) for (const { object } of current.value) if (matches(watcher.query, object)) this.write(watcher, 'ADDED', object);
    } else {
      const changes = this.store.history.since(from);
      if (!changes) {
        const expired = failure('E_KAPI_EXPIRED', `too old resource version: ${from} (${this.store.history.floor + 1})`);
        this.write(watcher, 'ERROR', statusObject(expired));
        res.end();
        return accept(undefined);
      }
      for (const c of changes) this.project(watcher, c);
    }
    this.watchers.add(watcher);
    const timeout = timeoutText === '' || Number(timeoutText) === 0 ? DEFAULT_TIMEOUT_S : Number(timeoutText);
    watcher.timers.push(setTimeout(() => this.end(watcher), timeout * 1000));
    if (w.params.get('allowWatchBookmarks') === 'true' && this.bookmarkEveryMs > 0) {
      const kind = w.resource.kind;
      const apiVersion = apiVersionOf(w.resource);
      watcher.timers.push(
        setInterval(
          () => this.write(watcher, 'BOOKMARK', { kind, apiVersion, metadata: { resourceVersion: String(this.store.revision) } }),
          this.bookmarkEveryMs,
        ),
      );
    }
    const forget = () => this.forget(watcher);
    req.on('close', forget);
    res.on('close', forget);
    return accept(undefined);
  }

  /** Cuts every open watch as a broken connection would (no clean end of the chunked body). */
  dropAll(): number {
    const n = this.watchers.size;
    for (const w of [...this.watchers]) {
      this.forget(w);
      w.res.destroy();
    }
    return n;
  }

  /** Ends every watch cleanly and stops listening to the store. */
  close(): void {
    for (const w of [...this.watchers]) this.end(w);
    this.unsubscribe();
  }

  private end(w: Watcher): void {
    this.forget(w);
    if (!w.res.writableEnded) w.res.end();
  }

  private forget(w: Watcher): void {
    if (!this.watchers.delete(w)) return;
    for (const t of w.timers) clearTimeout(t);
  }

  private deliver(c: Change): void {
    for (const w of this.watchers) this.project(w, c);
  }

  /** What a change looks like through one watcher's namespace and selectors. */
  private project(w: Watcher, c: Change): void {
    if (c.resource !== w.resource) return;
    const passes = (o: KubeObject | undefined) =>
      o !== undefined && (!w.namespace || o.metadata.namespace === w.namespace) && matches(w.query, o);
    const before = passes(c.prev);
    if (c.type === 'DELETED') {
      if (before) this.write(w, 'DELETED', c.object);
      return;
    }
    const now = passes(c.object);
    if (now) this.write(w, before ? 'MODIFIED' : 'ADDED', c.object);
    else if (before) this.write(w, 'DELETED', leftAt(c));
  }

  private write(w: Watcher, type: EventType, object: unknown): void {
    if (w.res.destroyed || w.res.writableEnded) return;
    let payload = object;
    if (w.table && (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')) {
      payload = toTable(w.resource, [object as KubeObject], {}, { ...w.table, now: this.store.now, noHeaders: w.headersSent });
      w.headersSent = true;
    }
    w.res.write(
      payload === object ? `{"type":"${type}","object":${serialized(object)}}\n` : `${JSON.stringify({ type, object: payload })}\n`,
    );
    if (w.res.writableLength > MAX_BACKLOG) {
      this.forget(w);
      w.res.destroy();
    }
  }
}

/** Stored objects are frozen, so one serialisation serves every watcher. */
const jsonOf = new WeakMap<object, string>();

function serialized(object: unknown): string {
  if (typeof object !== 'object' || object === null) return JSON.stringify(object);
  let json = jsonOf.get(object);
  if (json === undefined) {
    json = JSON.stringify(object);
    if (Object.isFrozen(object)) jsonOf.set(object, json);
  }
  return json;
}

/** The previous state of an object that left a watcher's selection, stamped with the change's resourceVersion. */
function leftAt(c: Change): KubeObject {
  const o = copy(c.prev!) as KubeObject;
  o.metadata.resourceVersion = String(c.rv);
  return deepFreeze(o);
}
