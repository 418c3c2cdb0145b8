/**
 * The object store: every object of every resource, one global resourceVersion counter that
 * each write bumps (as etcd's revision), and the bounded history of changes. Writes are
 * synchronous; listeners (the watch hub, the controllers) hear each change in resourceVersion
 * order, and a write a listener makes is delivered after the change it reacts to has reached
 * every listener.
 *
 * What the store keeps is frozen; readers get the frozen object and must copy to change it.
 */
import type { Rng } from '../../random/index.js';
import { AddressPool } from './address-pool.js';
import { applyDefaults, resetStatus } from './defaults.js';
import { type Change, type ChangeType, History } from './history.js';
import { randomSuffix, randomUid, timestamp } from './names.js';
import { copy, deepFreeze, isMap, jsonEqual, type KubeObject, objectKey } from './object.js';
import { apiVersionOf, RESOURCES, type ResourceType } from './resources.js';
import { accept, failure, type KubeFailure, notFound, type Outcome, qualified, refuse } from './status.js';
import { checkMetadataTypes, validateObject } from './validate.js';

export type Propagation = 'Orphan' | 'Background' | 'Foreground';

/** A change as listeners hear it: for DELETED, how dependents are to be treated. */
export interface StoreChange extends Change {
  propagation?: Propagation;
}

export interface StoreOptions {
  historySize: number;
  now: () => Date;
  random: Rng;
  /** Cluster IPs of Services. */
  serviceCidr: string;
}

export interface CreateOptions {
  dryRun?: boolean;
  /** A create through the API: status the client sent is dropped, as the real server does. */
  resetStatus?: boolean;
}

export interface UpdateOptions {
  dryRun?: boolean;
  /** `status` writes only .status; otherwise .status is kept when `keepStatus` says so. */
  subresource?: 'status';
  /** A write to the main resource of a type with a status subresource: the stored status stays. */
  keepStatus?: boolean;
  /** The body is a fresh copy nobody else holds: the store keeps it without copying again. */
  adopt?: boolean;
}

export interface DeleteOptions {
  dryRun?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  propagation?: Propagation;
}

interface Collection {
  objects: Map<string, KubeObject>;
  /** Keys in etcd's order, rebuilt lazily after a create or delete. */
  sorted: string[] | undefined;
}

/** The fields of an object whose change is a new generation: everything but metadata and status. */
function specChanged(a: KubeObject, b: KubeObject): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of ['metadata', 'status', 'apiVersion', 'kind']) keys.delete(k);
  return [...keys].some((k) => !jsonEqual(a[k], b[k]));
}

function conflict(r: ResourceType, name: string): KubeFailure {
  return failure(
    'E_KAPI_CONFLICT',
    `Operation cannot be fulfilled on ${qualified(r.plural, r.group)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: r.group, kind: r.plural },
    'metadata.resourceVersion',
  );
}

function uidConflict(r: ResourceType, name: string, wanted: string, actual: string | undefined): KubeFailure {
  return failure(
    'E_KAPI_CONFLICT',
    `Operation cannot be fulfilled on ${qualified(r.plural, r.group)} "${name}": Precondition failed: UID in precondition: ${wanted}, UID in object meta: ${actual ?? ''}`,
    { name, group: r.group, kind: r.plural },
    'metadata.uid',
  );
}

export class ObjectStore {
  private rv = 0;
  private readonly collections = new Map<ResourceType, Collection>();
  readonly history: History;
  private readonly listeners: ((c: StoreChange) => void)[] = [];
  private readonly idlers: (() => void)[] = [];
  private readonly queue: StoreChange[] = [];
  private emitting = false;
  private readonly serviceIps: AddressPool;

  constructor(private readonly opts: StoreOptions) {
    this.history = new History(opts.historySize);
    this.serviceIps = new AddressPool(opts.serviceCidr);
    for (const r of RESOURCES) this.collections.set(r, { objects: new Map(), sorted: undefined });
  }

  /** The latest resourceVersion, as a number. */
  get revision(): number {
    return this.rv;
  }

  get now(): Date {
    return this.opts.now();
  }

  get random(): Rng {
    return this.opts.random;
  }

  /** The first host of the service block: the `kubernetes` Service's address. */
  firstServiceIp(): string {
    return this.serviceIps.first();
  }

  /**
   * Calls `f` each time every change so far has reached every listener: controllers batch
   * there what many changes ask of them (a Service's endpoints after a hundred pods start).
   * Writes `f` makes are delivered, and `f` called again, before the write that started it returns.
   */
  onIdle(f: () => void): () => void {
    this.idlers.push(f);
    return () => {
      const i = this.idlers.indexOf(f);
      if (i >= 0) this.idlers.splice(i, 1);
    };
  }

  subscribe(listener: (c: StoreChange) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  get(r: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.collection(r).objects.get(objectKey(r.namespaced ? namespace : undefined, name));
  }

  /** How many objects a resource has (in a namespace, when given). */
  count(r: ResourceType, namespace?: string): number {
    const c = this.collection(r);
    if (!namespace || !r.namespaced) return c.objects.size;
    let n = 0;
    for (const o of c.objects.values()) if (o.metadata.namespace === namespace) n++;
    return n;
  }

  /**
   * The objects of a resource (in one namespace when given), in key order, as they were at
   * resourceVersion `at` (now when undefined): changes since then are undone from the history.
   * Expired when the history no longer reaches back that far.
   */
  items(r: ResourceType, namespace: string | undefined, at?: number): Outcome<{ key: string; object: KubeObject }[]> {
    const c = this.collection(r);
    const inScope = (o: KubeObject) => !namespace || !r.namespaced || o.metadata.namespace === namespace;
    if (at === undefined || at >= this.rv) {
      c.sorted ??= [...c.objects.keys()].sort();
      const out: { key: string; object: KubeObject }[] = [];
      for (const key of c.sorted) {
        const object = c.objects.get(key)!;
        if (inScope(object)) out.push({ key, object });
      }
      return accept(out);
    }
    const changes = this.history.since(at);
    if (!changes) return refuse('E_KAPI_EXPIRED', `too old resource version: ${at} (${this.history.floor + 1})`);
    const snapshot = new Map(c.objects);
    for (let i = changes.length - 1; i >= 0; i--) {
      const ch = changes[i];
      if (ch.resource !== r) continue;
      const key = objectKey(r.namespaced ? ch.object.metadata.namespace : undefined, ch.object.metadata.name!);
      if (ch.type === 'ADDED') snapshot.delete(key);
      else snapshot.set(key, ch.prev!);
    }
    return accept(
      [...snapshot.keys()]
        .sort()
        .map((key) => ({ key, object: snapshot.get(key)! }))
        .filter((e) => inScope(e.object)),
    );
  }

  /** Forgets the history: resourceVersions before now expire for watches and continue tokens. */
  compact(): number {
    this.history.compact(this.rv);
    return this.rv;
  }

  create(r: ResourceType, namespace: string | undefined, body: unknown, opts: CreateOptions = {}): Outcome<KubeObject> {
    const shape = checkMetadataTypes(body, r.kind) ?? this.kindMismatch(r, body as KubeObject);
    if (shape) return { ok: false, error: shape };
    const obj = copy(body) as KubeObject;
    obj.apiVersion = apiVersionOf(r);
    obj.kind = r.kind;
    obj.metadata = isMap(obj.metadata) ? obj.metadata : {};
    const meta = obj.metadata;
    if (r.namespaced) {
      const ns = namespace ?? meta.namespace ?? 'default';
      if (meta.namespace && meta.namespace !== ns)
        return refuse(
          'E_KAPI_BAD_REQUEST',
          'the namespace of the provided object does not match the namespace sent on the request',
          undefined,
          'metadata.namespace',
        );
      meta.namespace = ns;
      if (!this.get(this.resource('Namespace')!, undefined, ns)) return { ok: false, error: notFound('namespaces', '', ns) };
    } else delete meta.namespace;
    if (meta.resourceVersion)
      return refuse(
        'E_KAPI_BAD_REQUEST',
        'resourceVersion should not be set on objects to be created',
        undefined,
        'metadata.resourceVersion',
      );
    if (!meta.name) {
      if (!meta.generateName)
        return refuse(
          'E_KAPI_INVALID',
          `${r.kind} "" is invalid: metadata.name: Required value: name or generateName is required`,
          { group: r.group, kind: r.kind },
          'metadata.name',
        );
      // A collision with an existing name is retried, as the real server's generateName does.
      for (let i = 0; i < 8 && (!meta.name || this.get(r, meta.namespace, meta.name)); i++)
        meta.name = meta.generateName + randomSuffix(this.opts.random);
    }
    const name = meta.name!;
    if (this.get(r, meta.namespace, name))
      return refuse(
        'E_KAPI_EXISTS',
        `${qualified(r.plural, r.group)} "${name}" already exists`,
        { name, group: r.group, kind: r.plural },
        'metadata.name',
      );
    if (opts.resetStatus) resetStatus(r, obj);
    applyDefaults(r, obj);
    const invalid = validateObject(r, obj);
    if (invalid) return { ok: false, error: invalid };
    meta.uid = randomUid(this.opts.random);
    meta.creationTimestamp = timestamp(this.opts.now());
    meta.generation = 1;
    delete meta.deletionTimestamp;
    if (r.kind === 'Service') {
      const ip = this.assignClusterIp(obj, name, opts.dryRun === true);
      if (ip) return { ok: false, error: ip };
    }
    if (opts.dryRun) return accept(deepFreeze(obj));
    return accept(this.commit(r, 'ADDED', obj, undefined));
  }

  update(r: ResourceType, namespace: string | undefined, name: string, body: unknown, opts: UpdateOptions = {}): Outcome<KubeObject> {
    const shape = checkMetadataTypes(body, r.kind) ?? this.kindMismatch(r, body as KubeObject);
    if (shape) return { ok: false, error: shape };
    const current = this.get(r, namespace, name);
    if (!current) return { ok: false, error: notFound(r.plural, r.group, name) };
    const given = body as KubeObject;
    const meta = isMap(given.metadata) ? given.metadata : {};
    if (meta.name && meta.name !== name)
      return refuse(
        'E_KAPI_BAD_REQUEST',
        `the name of the object (${meta.name}) does not match the name on the URL (${name})`,
        undefined,
        'metadata.name',
      );
    if (r.namespaced && meta.namespace && meta.namespace !== current.metadata.namespace)
      return refuse(
        'E_KAPI_BAD_REQUEST',
        'the namespace of the provided object does not match the namespace sent on the request',
        undefined,
        'metadata.namespace',
      );
    if (meta.resourceVersion && meta.resourceVersion !== current.metadata.resourceVersion) return { ok: false, error: conflict(r, name) };
    if (meta.uid && meta.uid !== current.metadata.uid) return { ok: false, error: uidConflict(r, name, meta.uid, current.metadata.uid) };

    let next: KubeObject;
    if (opts.subresource === 'status') {
      next = copy(current) as KubeObject;
      if (given.status === undefined) delete next.status;
      else next.status = opts.adopt ? given.status : copy(given.status);
    } else {
      next = opts.adopt ? given : copy(given);
      next.metadata = opts.adopt ? meta : copy(meta);
      if (opts.keepStatus) {
        if (current.status === undefined) delete next.status;
        else next.status = copy(current.status);
      }
    }
    next.apiVersion = apiVersionOf(r);
    next.kind = r.kind;
    for (const k of ['uid', 'creationTimestamp', 'namespace', 'deletionTimestamp', 'generateName'] as const) {
      if (current.metadata[k] === undefined) delete next.metadata[k];
      else (next.metadata as Record<string, unknown>)[k] = current.metadata[k];
    }
    next.metadata.name = name;
    applyDefaults(r, next);
    const invalid = validateObject(r, next);
    if (invalid) return { ok: false, error: invalid };
    if (r.kind === 'Service') {
      const ip = this.keepClusterIp(current, next, name);
      if (ip) return { ok: false, error: ip };
    }
    next.metadata.generation = (current.metadata.generation ?? 1) + (specChanged(current, next) ? 1 : 0);
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    // The real server skips a write that changes nothing: no new resourceVersion, no event.
    if (jsonEqual(next, current) || opts.dryRun) return accept(opts.dryRun ? deepFreeze(next) : current);
    return accept(this.commit(r, 'MODIFIED', next, current));
  }

  delete(r: ResourceType, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Outcome<KubeObject> {
    const current = this.get(r, namespace, name);
    if (!current) return { ok: false, error: notFound(r.plural, r.group, name) };
    const pre = opts.preconditions ?? {};
    if (pre.uid && pre.uid !== current.metadata.uid) return { ok: false, error: uidConflict(r, name, pre.uid, current.metadata.uid) };
    if (pre.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) return { ok: false, error: conflict(r, name) };
    if (opts.dryRun) return accept(current);
    const last = copy(current) as KubeObject;
    this.commit(r, 'DELETED', last, current, opts.propagation);
    return accept(current);
  }

  /** The served type of a kind (kinds are unique across the groups the stand-in serves). */
  resource(kind: string): ResourceType | undefined {
    return RESOURCES.find((t) => t.kind === kind);
  }

  private collection(r: ResourceType): Collection {
    return this.collections.get(r)!;
  }

  private kindMismatch(r: ResourceType, body: KubeObject): KubeFailure | undefined {
    if (body.apiVersion !== undefined && body.apiVersion !== apiVersionOf(r))
      return failure(
        'E_KAPI_BAD_REQUEST',
        `the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(r)})`,
        undefined,
        'apiVersion',
      );
    if (body.kind !== undefined && body.kind !== r.kind)
      return failure(
        'E_KAPI_BAD_REQUEST',
        `the kind in the data (${body.kind}) does not match the expected kind (${r.kind})`,
        undefined,
        'kind',
      );
    return undefined;
  }

  private commit(
    r: ResourceType,
    type: ChangeType,
    object: KubeObject,
    prev: KubeObject | undefined,
    propagation?: Propagation,
  ): KubeObject {
    this.rv++;
    object.metadata.resourceVersion = String(this.rv);
    deepFreeze(object);
    const c = this.collection(r);
    const key = objectKey(r.namespaced ? object.metadata.namespace : undefined, object.metadata.name!);
    if (type === 'DELETED') {
      c.objects.delete(key);
      c.sorted = undefined;
      if (r.kind === 'Service') for (const ip of clusterIps(object)) this.serviceIps.release(ip);
    } else {
      if (!c.objects.has(key)) c.sorted = undefined;
      c.objects.set(key, object);
    }
    const change: StoreChange = { rv: this.rv, type, resource: r, object };
    if (prev) change.prev = prev;
    this.history.push(change);
    if (propagation) change.propagation = propagation;
    this.emit(change);
    return object;
  }

  private emit(change: StoreChange): void {
    this.queue.push(change);
    if (this.emitting) return;
    this.emitting = true;
    try {
      do {
        for (let next = this.queue.shift(); next; next = this.queue.shift()) for (const l of [...this.listeners]) l(next);
        for (const idle of [...this.idlers]) idle();
      } while (this.queue.length);
    } finally {
      this.emitting = false;
    }
  }

  private assignClusterIp(obj: KubeObject, name: string, dryRun: boolean): KubeFailure | undefined {
    const spec = obj.spec as Record<string, unknown>;
    if (spec.type === 'ExternalName' || spec.clusterIP === 'None') return undefined;
    const wanted = typeof spec.clusterIP === 'string' && spec.clusterIP !== '' ? spec.clusterIP : undefined;
    if (wanted) {
      if (!this.serviceIps.contains(wanted))
        return failure(
          'E_KAPI_INVALID',
          `Service "${name}" is invalid: spec.clusterIP: Invalid value: "${wanted}": provided IP is not in the valid range`,
          undefined,
          'spec.clusterIP',
        );
      if (!dryRun && !this.serviceIps.claim(wanted))
        return failure(
          'E_KAPI_INVALID',
          `Service "${name}" is invalid: spec.clusterIP: Invalid value: "${wanted}": provided IP is already allocated`,
          undefined,
          'spec.clusterIP',
        );
      spec.clusterIPs = [wanted];
    } else {
      const ip = dryRun ? '' : this.serviceIps.next();
      if (ip === undefined)
        return failure(
          'E_KAPI_INVALID',
          `Service "${name}" is invalid: spec.clusterIP: Internal error: range is full`,
          undefined,
          'spec.clusterIP',
        );
      spec.clusterIP = ip;
      spec.clusterIPs = [ip];
    }
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
    return undefined;
  }

  private keepClusterIp(current: KubeObject, next: KubeObject, name: string): KubeFailure | undefined {
    const was = (current.spec as Record<string, unknown> | undefined)?.clusterIP;
    const spec = next.spec as Record<string, unknown>;
    if (spec.clusterIP === undefined || spec.clusterIP === '') {
      spec.clusterIP = was;
      spec.clusterIPs = (current.spec as Record<string, unknown>).clusterIPs;
      spec.ipFamilies ??= (current.spec as Record<string, unknown>).ipFamilies;
      spec.ipFamilyPolicy ??= (current.spec as Record<string, unknown>).ipFamilyPolicy;
    } else if (spec.clusterIP !== was)
      return failure(
        'E_KAPI_INVALID',
        `Service "${name}" is invalid: spec.clusterIP: Invalid value: "${String(spec.clusterIP)}": field is immutable`,
        undefined,
        'spec.clusterIP',
      );
    return undefined;
  }
}

function clusterIps(service: KubeObject): string[] {
  const ips = (service.spec as Record<string, unknown> | undefined)?.clusterIPs;
  return Array.isArray(ips) ? ips.filter((ip): ip is string => typeof ip === 'string' && ip !== '' && ip !== 'None') : [];
}
