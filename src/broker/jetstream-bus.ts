/**
 * The bus at scale: NATS JetStream. One stream holds every flowtap subject (the bus prefixes
 * subjects with `prefix.`, the stream captures `prefix.>`), so replay and durable consumers work
 * for any subject without configuration. A durable subscription is a JetStream durable pull
 * consumer acknowledged when the handler returns; a plain one is an ordered consumer that starts
 * after the stream's last message (or at a time), so nothing published after subscribe()
 * resolves is missed.
 *
 * Publishing: each message carries a reply subject under one inbox of this bus, so JetStream's
 * acknowledgement (stored, with its sequence, or an error) comes back there and settles that
 * message's promise. Many publishes are then in flight at once without a request object and a
 * timer each (the client's js.publish costs several times more per message); a single sweep
 * fails the ones unanswered after PUBLISH_TIMEOUT_MS.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { connect, createInbox, nanos, type Msg, type NatsConnection, type Subscription as NatsSubscription } from '@nats-io/transport-node';
import { FlowtapError, diag, fail, ok, type Result } from '../diagnostics/index.js';
import type { BusMessage, MessageBus, SubscribeOptions, Subscription } from './broker.js';
import { checkDurable, checkPattern, checkSubject, encodeMessage } from './subject.js';

export interface JetStreamBusOptions {
  /** host:port */
  server: string;
  user?: string;
  pass?: string;
  token?: string;
  /** Stream name. Default FLOWTAP. */
  stream?: string;
  /** Subject prefix the stream captures. Default flowtap. */
  prefix?: string;
  /** Limits of a stream this bus creates (an existing stream keeps its own). */
  maxAgeMs?: number;
  maxBytes?: number;
  maxMessages?: number;
  connectTimeoutMs?: number;
  redeliveryDelayMs?: number;
  /** Shown in diagnostics (the URL without credentials). */
  label?: string;
}

const decoder = new TextDecoder();
const PUBLISH_TIMEOUT_MS = 10_000;
/** `{"error":` starts JetStream's negative acknowledgement; `{"stream":` a positive one. */
const LETTER_E = 0x65;

interface PendingAck {
  resolve: () => void;
  reject: (e: unknown) => void;
  subject: string;
  at: number;
}

function isApiError(e: unknown, code: number): boolean {
  return e instanceof JetStreamApiError && e.code === code;
}

export class JetStreamBus implements MessageBus {
  private closed = false;
  private readonly subs = new Set<JetStreamSubscription>();
  private readonly durables = new Set<string>();
  readonly inHandler = new AsyncLocalStorage<JetStreamSubscription>();
  readonly redeliveryDelayMs: number;
  private readonly inbox = createInbox();
  private readonly acks = new Map<number, PendingAck>();
  private nextAck = 0;
  private readonly ackSub: NatsSubscription;
  private sweeper: NodeJS.Timeout | null = null;

  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly stream: string,
    readonly prefix: string,
    readonly label: string,
    redeliveryDelayMs: number,
  ) {
    this.redeliveryDelayMs = redeliveryDelayMs;
    this.ackSub = nc.subscribe(`${this.inbox}.*`, { callback: (_err, m) => this.onAck(m) });
  }

  private onAck(m: Msg): void {
    const token = Number(m.subject.slice(this.inbox.length + 1));
    const p = this.acks.get(token);
    if (!p) return;
    this.acks.delete(token);
    // No stream listens (status 503, empty body), or JetStream refused the message.
    if (m.data.length === 0 || m.data[2] === LETTER_E) {
      const why = m.data.length === 0 ? `no JetStream stream stored it (status ${m.headers?.code ?? 'none'})` : decoder.decode(m.data);
      p.reject(new FlowtapError(diag('E_BROKER_IO', `NATS ${this.label}: publish on ${p.subject} failed: ${why}`)));
    } else p.resolve();
  }

  /** Fails publishes whose acknowledgement has not come (oldest first: tokens grow with time). */
  private sweep(): void {
    const cutoff = Date.now() - PUBLISH_TIMEOUT_MS;
    for (const [token, p] of this.acks) {
      if (p.at > cutoff) break;
      this.acks.delete(token);
      p.reject(
        new FlowtapError(
          diag('E_BROKER_IO', `NATS ${this.label}: publish on ${p.subject} not acknowledged within ${PUBLISH_TIMEOUT_MS / 1000} s`),
        ),
      );
    }
    if (this.acks.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  static async open(opts: JetStreamBusOptions): Promise<Result<JetStreamBus>> {
    const stream = opts.stream ?? 'FLOWTAP';
    const prefix = opts.prefix ?? 'flowtap';
    const label = opts.label ?? `nats://${opts.server}`;
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(stream))
      return fail(diag('E_BROKER_URL', `stream name "${stream}" must be 1-64 letters, digits, "_" or "-"`, { field: 'stream' }));
    const badPrefix = checkSubject(prefix);
    if (badPrefix) return fail(diag('E_BROKER_URL', `subject prefix "${prefix}": ${badPrefix.message}`, { field: 'prefix' }));
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: opts.server,
        user: opts.user,
        pass: opts.pass,
        token: opts.token,
        name: 'flowtap-broker',
        timeout: opts.connectTimeoutMs ?? 5000,
        // Once connected, ride out a server restart instead of giving up after a few tries.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
      });
    } catch (e) {
      return fail(diag('E_BROKER_UNREACHABLE', `NATS ${label}: cannot connect: ${(e as Error).message}`));
    }
    try {
      const jsm = await jetstreamManager(nc);
      try {
        await jsm.streams.info(stream);
      } catch (e) {
        if (!isApiError(e, JetStreamApiCodes.StreamNotFound)) throw e;
        await jsm.streams.add({
          name: stream,
          subjects: [`${prefix}.>`],
          storage: StorageType.File,
          retention: RetentionPolicy.Limits,
          discard: DiscardPolicy.Old,
          max_age: nanos(opts.maxAgeMs ?? 24 * 3600_000),
          max_bytes: opts.maxBytes ?? 1024 ** 3,
          max_msgs: opts.maxMessages ?? -1,
          num_replicas: 1,
        });
      }
      return ok(new JetStreamBus(nc, jetstream(nc), jsm, stream, prefix, label, opts.redeliveryDelayMs ?? 1000));
    } catch (e) {
      await nc.close().catch(() => undefined);
      return fail(
        diag('E_BROKER_UNAVAILABLE', `NATS ${label}: JetStream is not usable (is nats-server running with -js?): ${(e as Error).message}`),
      );
    }
  }

  private guard(): void {
    if (this.closed) throw new FlowtapError(diag('E_BROKER_CLOSED', `the JetStream bus ${this.label} is closed`));
  }

  async publish(subject: string, data: unknown): Promise<void> {
    this.guard();
    const json = encodeMessage(subject, data);
    // Buffer.from encodes UTF-8 several times faster than the TextEncoder the client would use.
    const payload = Buffer.from(json, 'utf8');
    return new Promise<void>((resolve, reject) => {
      const token = this.nextAck++;
      this.acks.set(token, { resolve, reject, subject, at: Date.now() });
      try {
        this.nc.publish(`${this.prefix}.${subject}`, payload, { reply: `${this.inbox}.${token}` });
      } catch (e) {
        this.acks.delete(token);
        reject(new FlowtapError(diag('E_BROKER_IO', `NATS ${this.label}: publish on ${subject} failed: ${(e as Error).message}`)));
        return;
      }
      if (!this.sweeper) {
        this.sweeper = setInterval(() => this.sweep(), 1000);
        this.sweeper.unref();
      }
    });
  }

  async subscribe(pattern: string, handler: (m: BusMessage) => void | Promise<void>, opts: SubscribeOptions = {}): Promise<Subscription> {
    this.guard();
    const bad = checkPattern(pattern);
    if (bad) throw new FlowtapError(bad);
    if (opts.fromTime !== undefined && (typeof opts.fromTime !== 'number' || !Number.isFinite(opts.fromTime)))
      throw new FlowtapError(diag('E_BROKER_QUERY', `fromTime must be a time in ms, got ${String(opts.fromTime)}`, { field: 'fromTime' }));
    const filter = `${this.prefix}.${pattern}`;
    const durable = opts.durable;
    let sub: JetStreamSubscription;
    try {
      if (durable !== undefined) {
        const badName = checkDurable(durable);
        if (badName) throw new FlowtapError(badName);
        if (this.durables.has(durable))
          throw new FlowtapError(diag('E_BROKER_DURABLE', `durable consumer "${durable}" is already subscribed`, { field: 'durable' }));
        let existing = null;
        try {
          existing = await this.jsm.consumers.info(this.stream, durable);
        } catch (e) {
          if (!isApiError(e, JetStreamApiCodes.ConsumerNotFound)) throw e;
        }
        if (existing) {
          if (existing.config.filter_subject !== filter)
            throw new FlowtapError(
              diag(
                'E_BROKER_DURABLE',
                `durable consumer "${durable}" follows "${String(existing.config.filter_subject).slice(this.prefix.length + 1)}", not "${pattern}"; use another name`,
                { field: 'durable' },
              ),
            );
        } else {
          await this.jsm.consumers.add(this.stream, {
            durable_name: durable,
            ack_policy: AckPolicy.Explicit,
            filter_subject: filter,
            ack_wait: nanos(30_000),
            max_ack_pending: 1024,
            ...(opts.fromTime !== undefined
              ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(opts.fromTime).toISOString() }
              : { deliver_policy: DeliverPolicy.New }),
          });
        }
        this.durables.add(durable);
        sub = new JetStreamSubscription(this, handler, durable, () => this.js.consumers.get(this.stream, durable));
      } else {
        // After the stream's current last message, not "new" (whenever the consumer gets created).
        let next: number | undefined;
        if (opts.fromTime === undefined) next = (await this.jsm.streams.info(this.stream)).state.last_seq + 1;
        const fromTime = opts.fromTime;
        sub = new JetStreamSubscription(this, handler, undefined, (resumeAt) =>
          this.js.consumers.get(this.stream, {
            filter_subjects: filter,
            ...(resumeAt !== undefined || next !== undefined
              ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: resumeAt ?? next }
              : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(fromTime as number).toISOString() }),
          }),
        );
      }
    } catch (e) {
      if (e instanceof FlowtapError) throw e;
      throw new FlowtapError(diag('E_BROKER_IO', `NATS ${this.label}: subscribe to ${pattern} failed: ${(e as Error).message}`));
    }
    this.subs.add(sub);
    try {
      await sub.start();
    } catch (e) {
      this.forget(sub);
      throw new FlowtapError(diag('E_BROKER_IO', `NATS ${this.label}: subscribe to ${pattern} failed: ${(e as Error).message}`));
    }
    return sub;
  }

  forget(sub: JetStreamSubscription): void {
    this.subs.delete(sub);
    if (sub.durable !== undefined) this.durables.delete(sub.durable);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subs].map((s) => s.unsubscribe()));
    // Publishes still awaiting their acknowledgement get it (or the sweep's verdict) first.
    const deadline = Date.now() + PUBLISH_TIMEOUT_MS;
    while (this.acks.size > 0 && Date.now() < deadline) await sleep(10);
    this.sweep();
    if (this.sweeper) clearInterval(this.sweeper);
    this.ackSub.unsubscribe();
    await this.nc.flush().catch(() => undefined);
    await this.nc.close().catch(() => undefined);
  }
}

/** A durable's pull requests last this long: the most an unsubscribe waits for one to end. */
const FETCH_EXPIRES_MS = 1000;
const FETCH_BATCH = 256;

/**
 * A durable subscription pulls with fetch requests it sees to their end: a message the server
 * hands to a pull request after the subscriber stopped would otherwise be "delivered" to nobody
 * and come back only after the acknowledgement wait. What arrives after the stop is given back
 * (nak) in stream order once the request is over, so the next subscriber gets it first, in order.
 * A plain subscription is an ordered consumer, recreated after its last sequence if it fails.
 */
class JetStreamSubscription implements Subscription {
  private stopped = false;
  private messages: ConsumerMessages | null = null;
  private running: Promise<void> = Promise.resolve();
  /** For a plain subscription: where to start again if its consumer has to be recreated. */
  private nextSeq: number | undefined;

  constructor(
    private readonly bus: JetStreamBus,
    private readonly handler: (m: BusMessage) => void | Promise<void>,
    readonly durable: string | undefined,
    private readonly consumer: (resumeAt?: number) => Promise<Consumer>,
  ) {}

  /** Resolves once the subscription is live (its consumer exists and is being pulled from). */
  async start(): Promise<void> {
    const consumer = await this.consumer();
    if (this.durable !== undefined) {
      this.running = this.pullDurable(consumer).finally(() => this.bus.forget(this));
      return;
    }
    const first = await consumer.consume({ max_messages: FETCH_BATCH });
    this.messages = first;
    this.running = this.consumeOrdered(first).finally(() => this.bus.forget(this));
  }

  private async pullDurable(consumer: Consumer): Promise<void> {
    while (!this.stopped) {
      const unhandled: JsMsg[] = [];
      try {
        const batch = await consumer.fetch({ max_messages: FETCH_BATCH, expires: FETCH_EXPIRES_MS });
        for await (const m of batch) if (this.stopped || !(await this.handle(m))) unhandled.push(m);
      } catch {
        // The consumer or the connection went away: pull again after a pause.
        if (!this.stopped) await sleep(this.bus.redeliveryDelayMs);
      }
      unhandled.sort((a, b) => a.seq - b.seq);
      for (const m of unhandled) m.nak();
    }
  }

  private async consumeOrdered(first: ConsumerMessages): Promise<void> {
    let msgs: ConsumerMessages | null = first;
    while (!this.stopped) {
      try {
        if (msgs === null) {
          msgs = await (await this.consumer(this.nextSeq)).consume({ max_messages: FETCH_BATCH });
          this.messages = msgs;
          if (this.stopped) await msgs.close();
        }
        for await (const m of msgs) if (!this.stopped) await this.handle(m);
      } catch {
        // The consumer went away (server restart, deleted): make it again after a pause.
      }
      msgs = null;
      if (!this.stopped) await sleep(this.bus.redeliveryDelayMs);
    }
  }

  /** Runs the handler until it returns (then acks); false if stopped before it did. */
  private async handle(m: JsMsg): Promise<boolean> {
    const text = decoder.decode(m.data);
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
    const ts = Number(m.timestampNanos / 1_000_000n);
    const msg: BusMessage = { subject: m.subject.slice(this.bus.prefix.length + 1), seq: m.seq, ts, data };
    for (;;) {
      try {
        await this.bus.inHandler.run(this, () => this.handler(msg));
        if (this.durable !== undefined) m.ack();
        this.nextSeq = m.seq + 1;
        return true;
      } catch {
        // Retried in place, as the embedded bus does, so a failing message keeps its order.
        if (this.stopped) return false;
        if (this.durable !== undefined) m.working();
        await sleep(this.bus.redeliveryDelayMs);
        if (this.stopped) return false;
      }
    }
  }

  async unsubscribe(): Promise<void> {
    const inHandler = this.bus.inHandler.getStore() === this;
    if (!this.stopped) {
      this.stopped = true;
      // An ordered consumer's close() resolves only once its loop takes the stop from the
      // queue, which it cannot do while this handler runs: request it, do not wait, inside one.
      const closing = this.messages?.close().catch(() => undefined);
      if (!inHandler) await closing;
    }
    if (inHandler) return;
    await this.running;
    // Acks and naks are plain publishes: make sure the server has them before reporting done.
    await this.bus.nc.flush().catch(() => undefined);
  }
}
