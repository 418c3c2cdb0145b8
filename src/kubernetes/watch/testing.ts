/**
 * A list+watch source that plays the protocol's cases on cue: lists that fail, watches that
 * drop, ERROR events, 410 answers, bookmarks. It records every watch's starting version.
 */
import type { KubeObject } from './object.js';
import type { ListPage, WatchCallbacks, WatchHandle, WatchSource } from './source.js';

export class FakeSource implements WatchSource {
  /** What the next list returns, and at which collection version. */
  items: KubeObject[] = [];
  version = '1';
  lists = 0;
  /** The resource version each watch started from, in order. */
  watchedFrom: string[] = [];
  stops = 0;
  /** Errors the next lists throw, first first. */
  listErrors: unknown[] = [];
  /** Errors the next watches end with at once (a 410 answer, a refused connection). */
  watchErrors: unknown[] = [];
  private current: WatchCallbacks | undefined;
  private waiters: { n: number; resolve: () => void }[] = [];

  async list(): Promise<ListPage> {
    this.lists++;
    const err = this.listErrors.shift();
    if (err !== undefined) throw err;
    return { items: structuredClone(this.items), resourceVersion: this.version };
  }

  async watch(resourceVersion: string, callbacks: WatchCallbacks): Promise<WatchHandle> {
    this.watchedFrom.push(resourceVersion);
    const err = this.watchErrors.shift();
    if (err !== undefined) queueMicrotask(() => callbacks.done(err));
    else this.current = callbacks;
    for (const w of this.waiters.filter((w) => this.watchedFrom.length >= w.n)) w.resolve();
    this.waiters = this.waiters.filter((w) => this.watchedFrom.length < w.n);
    return {
      stop: () => {
        this.stops++;
        if (this.current === callbacks) this.current = undefined;
      },
    };
  }

  /** Resolves once `n` watches have been started in all. */
  watches(n: number): Promise<void> {
    if (this.watchedFrom.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  get watching(): boolean {
    return this.current !== undefined;
  }

  send(type: string, object: unknown): void {
    if (!this.current) throw new Error('no watch is open');
    this.current.event(type, structuredClone(object));
  }

  /** The server ends the open watch (null: a clean close). */
  drop(err: unknown = null): void {
    const c = this.current;
    this.current = undefined;
    c?.done(err);
  }
}

export function pod(name: string, rv: string, extra: Partial<KubeObject> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'shop', resourceVersion: rv, uid: `uid-${name}` }, ...extra };
}
