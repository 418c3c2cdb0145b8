/**
 * openBroker: the one way in. Parses both addresses first, then opens the store and the bus;
 * anything that fails comes back as a diagnostic and nothing stays open. With an embedded
 * store and bus they share one SQLite file.
 */
import { diag, fail, ok, type Diagnostic, type Result } from '../diagnostics/index.js';
import { parseBusAddress, parseStoreAddress } from './address.js';
import type { Broker, MessageBus, RecordStore, RetentionPolicy } from './broker.js';
import { JetStreamBus } from './jetstream-bus.js';
import { MemoryBus } from './memory-bus.js';
import { PgStore } from './pg-store.js';
import { MEMORY_PATH, openSqliteFile, type CheckpointMode, type SqliteFile } from './sqlite-file.js';
import { SqliteStore } from './sqlite-store.js';
import { checkRetention } from './validate.js';

export interface BrokerOptions {
  /** `sqlite:PATH`, `sqlite::memory:` or `postgres://USER@HOST:PORT/DB[?schema=NAME]`. */
  store: string;
  /**
   * `memory` (default: in the store's SQLite file, or in process memory beside PostgreSQL),
   * `memory:PATH` (its own SQLite file) or `nats://HOST:PORT[?stream=NAME&prefix=SUBJECT]`.
   */
  bus?: string;
  /** Applied to the store every `retentionEveryMs` (default one minute) while the broker is open. */
  retention?: RetentionPolicy;
  retentionEveryMs?: number;
  /** Limits of the bus's message log: the embedded bus's table, or a JetStream stream it creates. */
  busLimits?: { maxMessages?: number; maxAgeMs?: number; maxBytes?: number };
  /** How long to wait for a server before reporting it unreachable. Default 5 s. */
  connectTimeoutMs?: number;
  /** Embedded files: who checkpoints the write-ahead log (sqlite-file.ts). Default `background`. */
  checkpoints?: CheckpointMode;
}

class OpenBroker implements Broker {
  private timer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    readonly store: RecordStore,
    readonly bus: MessageBus,
    retention: RetentionPolicy | undefined,
    everyMs: number,
  ) {
    if (retention && (retention.maxAgeMs !== undefined || retention.maxBytes !== undefined)) {
      let busy = false;
      this.timer = setInterval(() => {
        if (busy) return;
        busy = true;
        // A failed pass (server briefly gone) is retried at the next tick.
        store
          .retain(retention)
          .catch(() => undefined)
          .finally(() => (busy = false));
      }, everyMs);
      this.timer.unref();
    }
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    if (this.timer) clearInterval(this.timer);
    this.closing = (async () => {
      await this.bus.close();
      await this.store.close();
    })();
    return this.closing;
  }
}

export async function openBroker(opts: BrokerOptions): Promise<Result<Broker>> {
  const errors: Diagnostic[] = [];
  const storeAddr = parseStoreAddress(opts.store);
  const busAddr = parseBusAddress(opts.bus ?? 'memory');
  if (!storeAddr.ok) errors.push(...storeAddr.errors);
  if (!busAddr.ok) errors.push(...busAddr.errors);
  if (opts.retention !== undefined) {
    const r = checkRetention(opts.retention);
    if (!r.ok) errors.push(...r.errors);
  }
  const everyMs = opts.retentionEveryMs ?? 60_000;
  if (!Number.isFinite(everyMs) || everyMs <= 0)
    errors.push(diag('E_BROKER_RETENTION', `retentionEveryMs must be positive, got ${everyMs}`, { field: 'retentionEveryMs' }));
  if (!storeAddr.ok || !busAddr.ok || errors.length > 0) return fail(errors);

  const timeout = opts.connectTimeoutMs ?? 5000;
  const limits = opts.busLimits ?? {};
  let store: RecordStore | undefined;
  let storeFile: SqliteFile | undefined;
  const s = storeAddr.value;
  if (s.kind === 'sqlite') {
    const f = openSqliteFile(s.path, opts.checkpoints);
    if (!f.ok) return fail(f.errors);
    storeFile = f.value;
    try {
      store = new SqliteStore(storeFile);
    } catch (e) {
      await storeFile.release();
      return fail(diag('E_BROKER_UNAVAILABLE', `SQLite ${s.path}: not usable as a store: ${(e as Error).message}`, { file: s.path }));
    }
  } else {
    const p = await PgStore.open({ connectionString: s.connectionString, schema: s.schema, label: s.label, connectTimeoutMs: timeout });
    if (!p.ok) return fail(p.errors);
    store = p.value;
  }

  let bus: MessageBus;
  const b = busAddr.value;
  if (b.kind === 'memory') {
    let file: SqliteFile;
    if (b.path === undefined && storeFile) file = storeFile;
    else {
      const f = openSqliteFile(b.path ?? MEMORY_PATH, opts.checkpoints);
      if (!f.ok) {
        await store.close();
        return fail(f.errors);
      }
      file = f.value;
    }
    try {
      bus = new MemoryBus(file, { maxMessages: limits.maxMessages, maxAgeMs: limits.maxAgeMs });
    } catch (e) {
      await store.close();
      if (file !== storeFile) await file.release();
      return fail(diag('E_BROKER_UNAVAILABLE', `SQLite ${file.path}: not usable as a bus: ${(e as Error).message}`, { file: file.path }));
    }
  } else {
    const j = await JetStreamBus.open({
      ...b,
      connectTimeoutMs: timeout,
      maxAgeMs: limits.maxAgeMs,
      maxBytes: limits.maxBytes,
      maxMessages: limits.maxMessages,
    });
    if (!j.ok) {
      await store.close();
      return fail(j.errors);
    }
    bus = j.value;
  }
  return ok(new OpenBroker(store, bus, opts.retention, everyMs));
}
