/**
 * Where a resource kind's list and watch come from: the API server (through
 * @kubernetes/client-node: its typed list calls and its Watch) or, in tests, a fake that
 * plays the protocol's cases on cue (watch/testing.ts).
 */
export interface ListPage {
  items: unknown[];
  /** The collection's resource version: a watch started from it misses nothing after the list. */
  resourceVersion: string;
}

export interface WatchHandle {
  /** Ends the watch; `done` is not called for an end asked for. */
  stop(): void;
}

export interface WatchCallbacks {
  /** One event as the server sent it: `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK` or `ERROR`, and its object. */
  event(type: string, object: unknown): void;
  /** The watch ended: null when the server closed it, else why (an HTTP status in `statusCode` or `code`). */
  done(err: unknown): void;
}

export interface WatchSource {
  list(): Promise<ListPage>;
  /** Watches from `resourceVersion` with bookmarks asked for. */
  watch(resourceVersion: string, callbacks: WatchCallbacks): Promise<WatchHandle>;
}

/** The HTTP status an error of the client (or of a watch's end) carries, if any. */
export function httpStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { statusCode?: unknown; code?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  if (typeof e.code === 'number') return e.code;
  return undefined;
}

/** One line on why a list or watch failed, for a person. */
export function describeError(err: unknown): string {
  if (err === null || err === undefined) return 'closed by the server';
  const status = httpStatus(err);
  const body = (err as { body?: unknown }).body;
  let reason = '';
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') reason = parsed.message;
    } catch {
      reason = body.slice(0, 200);
    }
  } else if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') {
    reason = (body as { message: string }).message;
  }
  // A watch's ERROR event carries a Status object: its message is the server's reason.
  const own = (err as { message?: unknown }).message;
  if (!reason && !(err instanceof Error) && typeof own === 'string') reason = own;
  if (status !== undefined) return `HTTP ${status}${reason ? `: ${reason}` : ''}`;
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0].slice(0, 300);
}
