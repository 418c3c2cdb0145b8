/**
 * One resource kind kept in step with the API server: list, then watch from the list's
 * resource version with bookmarks, remembering the last version seen (events and bookmarks
 * alike). A watch that drops resumes from that version after a capped, jittered, exponential
 * delay (reset once a watch delivers something); a version the server no longer has (410
 * Gone, as an ERROR event or as the watch's answer) means a new list, whose difference from
 * the cache goes out as ordinary events, so a deletion nobody saw still ends as a deletion.
 */
import { diag, type Diagnostic } from '../../diagnostics/index.js';
import { KubernetesCode } from '../codes.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { diffList } from './diff.js';
import { checkObject, keyOf, type KubeObject } from './object.js';
import { describeError, httpStatus, type WatchHandle, type WatchSource } from './source.js';

export type CacheEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface CacheEvent {
  type: CacheEventType;
  kind: string;
  key: string;
  object: KubeObject;
  /** What the cache held before a change or a deletion. */
  previous?: KubeObject;
  /** The event was derived from a list, not sent by a watch. */
  relist?: boolean;
  /** It comes from the very first list: the state found on connecting, not a change. */
  initial?: boolean;
}

export interface WatchCounters {
  /** Lists after the first one (each after a 410 or a failed list). */
  relists: number;
  /** Watches started again after one ended, whatever ended it. */
  reconnects: number;
  /** ADDED, MODIFIED and DELETED events applied to the cache (relist differences included). */
  events: number;
  bookmarks: number;
  /** Events skipped: malformed, or of an unknown type. */
  malformed: number;
  /** Lists and watches that failed (network, HTTP error, ERROR event). */
  failures: number;
}

export interface ResourceWatchOptions {
  backoff?: BackoffOptions;
  random?: () => number;
  /** A watch silent for this long is taken for a dead connection and started again (default 5 min). */
  idleMs?: number;
  /** Problems worth a person's attention: malformed events, failed lists and watches. */
  onProblem?: (d: Diagnostic) => void;
}

type Ended = { err: unknown; delivered: boolean; gone: boolean };

export class ResourceWatch {
  readonly cache = new Map<string, KubeObject>();
  readonly counters: WatchCounters = { relists: 0, reconnects: 0, events: 0, bookmarks: 0, malformed: 0, failures: 0 };
  private rv = '';
  private lists = 0;
  private stopped = false;
  private handle: WatchHandle | undefined;
  private endSession: (() => void) | undefined;
  private wake: (() => void) | undefined;
  private readonly backoff: Backoff;
  private readonly listeners = new Set<(e: CacheEvent) => void>();
  private synced = false;
  private firstSync!: Promise<void>;
  private markSynced!: () => void;
  private refuse!: (err: Error) => void;
  private running: Promise<void> | undefined;

  constructor(
    readonly kind: string,
    private readonly source: WatchSource,
    private readonly opts: ResourceWatchOptions = {},
  ) {
    this.backoff = new Backoff(opts.backoff, opts.random);
    this.firstSync = new Promise((resolve, reject) => {
      this.markSynced = resolve;
      this.refuse = reject;
    });
  }

  /** The last resource version seen (of the list, an event or a bookmark). */
  get resourceVersion(): string {
    return this.rv;
  }

  onEvent(listener: (e: CacheEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Starts the loop; resolves once the first list is in the cache (it retries until then).
   * Rejects when the server says the first list will never succeed (401, 403, 404: no rights,
   * or no such resource on this cluster), and the loop ends.
   */
  start(): Promise<void> {
    this.running ??= this.loop();
    return this.firstSync;
  }

  /** Ends the watch and any wait; the cache stays as it was. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.endSession?.();
    this.wake?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      if (needList) {
        if (!(await this.list())) {
          await this.pause();
          continue;
        }
        needList = false;
        // stop() may have come while the list was on its way.
        if (this.stopped) break;
      }
      const ended = await this.watchOnce();
      if (this.stopped) break;
      if (ended.delivered) this.backoff.reset();
      if (ended.gone) needList = true;
      else {
        if (ended.err !== null) this.counters.failures++;
        this.counters.reconnects++;
        if (ended.err !== null) this.problem(`${this.kind} watch from version ${this.rv} ended: ${describeError(ended.err)}; resuming`);
      }
      await this.pause();
    }
  }

  private async list(): Promise<boolean> {
    if (this.lists++ > 0) this.counters.relists++;
    let page: Awaited<ReturnType<WatchSource['list']>>;
    try {
      page = await this.source.list();
    } catch (e) {
      this.counters.failures++;
      const status = httpStatus(e);
      if (!this.synced && (status === 401 || status === 403 || status === 404)) {
        this.stopped = true;
        this.refuse(new Error(`listing ${this.kind} failed: ${describeError(e)}`));
        return false;
      }
      this.problem(`listing ${this.kind} failed: ${describeError(e)}; retrying`);
      return false;
    }
    if (this.stopped) return false;
    const items: KubeObject[] = [];
    for (const raw of page.items) {
      const o = checkObject(raw);
      if (typeof o === 'string') {
        this.counters.malformed++;
        this.problem(`a listed ${this.kind} is malformed (${o}); skipped`);
      } else items.push(o);
    }
    const d = diffList(this.cache, items);
    this.rv = page.resourceVersion;
    const how = this.synced ? 'relist' : 'initial';
    for (const o of d.added) this.apply('ADDED', o, how);
    for (const m of d.modified) this.apply('MODIFIED', m.object, how);
    for (const o of d.deleted) this.apply('DELETED', o, how);
    this.synced = true;
    this.backoff.reset();
    this.markSynced();
    return true;
  }

  /** One watch session, until it ends by itself, is stopped, or the server says the version is gone. */
  private watchOnce(): Promise<Ended> {
    return new Promise<Ended>((resolve) => {
      let delivered = false;
      let gone = false;
      let over = false;
      let idle: NodeJS.Timeout | undefined;
      const finish = (err: unknown) => {
        if (over) return;
        over = true;
        clearTimeout(idle);
        this.handle?.stop();
        this.handle = undefined;
        this.endSession = undefined;
        if (httpStatus(err) === 410) gone = true;
        resolve({ err, delivered, gone });
      };
      const idleMs = this.opts.idleMs ?? 300_000;
      // One timer per session, not one per event: it looks at the last event when it fires.
      let last = Date.now();
      const check = () => {
        const quiet = Date.now() - last;
        if (quiet >= idleMs) finish(new Error(`no event or bookmark for ${Math.round(idleMs / 1000)} s`));
        else idle = setTimeout(check, idleMs - quiet);
      };
      idle = setTimeout(check, idleMs);
      const arm = () => {
        last = Date.now();
      };
      this.endSession = () => finish(null);
      const onEvent = (type: string, raw: unknown) => {
        if (over) return;
        arm();
        if (type === 'ERROR') {
          const code = httpStatus(raw);
          if (code === 410) {
            gone = true;
            finish(null);
          } else finish(raw ?? new Error('ERROR event without a status'));
          return;
        }
        if (type === 'BOOKMARK') {
          const rv = (raw as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
          if (typeof rv === 'string' && rv !== '') {
            this.rv = rv;
            this.counters.bookmarks++;
            delivered = true;
          } else this.malformed(`a ${this.kind} bookmark without a resource version`);
          return;
        }
        if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') {
          this.malformed(`a ${this.kind} watch event of unknown type ${JSON.stringify(String(type)).slice(0, 40)}`);
          return;
        }
        const o = checkObject(raw);
        if (typeof o === 'string') {
          this.malformed(`a ${this.kind} ${type} event is malformed (${o})`);
          return;
        }
        delivered = true;
        if (o.metadata.resourceVersion) this.rv = o.metadata.resourceVersion;
        this.apply(type, o, 'watch');
      };
      this.source
        .watch(this.rv, { event: onEvent, done: (err) => finish(err ?? null) })
        .then((h) => {
          if (over) h.stop();
          else this.handle = h;
        })
        .catch((e) => finish(e));
    });
  }

  /** The cache takes the change; listeners hear of it only when it is one (a repeat is not). */
  private apply(type: CacheEventType, o: KubeObject, how: 'initial' | 'relist' | 'watch'): void {
    const key = keyOf(o);
    const previous = this.cache.get(key);
    if (type === 'DELETED') {
      if (!previous) return;
      this.cache.delete(key);
    } else {
      if (
        previous &&
        previous.metadata.resourceVersion !== undefined &&
        previous.metadata.resourceVersion === o.metadata.resourceVersion &&
        previous.metadata.uid === o.metadata.uid
      )
        return;
      this.cache.set(key, o);
      // A watch may report as MODIFIED what the cache never held (and the reverse): the cache decides.
      type = previous ? 'MODIFIED' : 'ADDED';
    }
    this.counters.events++;
    const e: CacheEvent = { type, kind: this.kind, key, object: o };
    if (previous) e.previous = previous;
    if (how !== 'watch') e.relist = true;
    if (how === 'initial') e.initial = true;
    for (const l of this.listeners) l(e);
  }

  private malformed(what: string): void {
    this.counters.malformed++;
    this.problem(`${what}; skipped`);
  }

  private problem(message: string): void {
    this.opts.onProblem?.(diag(KubernetesCode.WATCH, message, { field: this.kind }));
  }

  private pause(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const ms = this.backoff.next();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }
}
