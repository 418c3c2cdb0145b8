/**
 * The stand-in Kubernetes API server: node:http speaking the real REST protocol (discovery,
 * get, list, watch, create, update, patch, delete, the status subresource, server-side
 * printing) over the store, with the controllers that give workloads their pods. It lets
 * kubectl, client libraries and flowtap's Kubernetes adapter be tested on machines where no
 * real cluster can run. docs/kubernetes.md says what it does and does not do.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { diag, FlowtapError } from '../../diagnostics/index.js';
import { seededRng } from '../../random/index.js';
import { Controllers } from './controller/index.js';
import { coreVersions, group, groupList, openApiV2, resourceList, SERVER_VERSION } from './discovery.js';
import { kubeconfig } from './kubeconfig.js';
import { listPage } from './list.js';
import { copy, isMap, type KubeObject } from './object.js';
import { applyPatch, PATCH_TYPES, patchType, strategicMerge } from './patch.js';
import { parseBody, parsePath, readBody } from './request.js';
import { apiVersionOf, resourceByKind, type ResourceType } from './resources.js';
import { type KubeFailure, failure, notFound, type Outcome, refuse, statusObject } from './status.js';
import { scaled, scaleOf } from './scale.js';
import { ObjectStore, type Propagation } from './store.js';
import { type IncludeObject, toTable } from './table.js';
import { WatchHub } from './watch.js';

export interface ApiServerOptions {
  /** Objects stored at start (namespaces first), as given: status included, so a test can preload running pods. */
  objects?: object[];
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Period of BOOKMARK events on watches that allow them; 0 sends none. Default 60 s. */
  bookmarkEveryMs?: number;
  /** Changes the history keeps for watches and continue tokens. Default 10000. */
  maxWatchEvents?: number;
  /** Names of the nodes at start. Default node-1 and node-2. */
  nodes?: string[];
  /** The block node pod ranges (/24 each) come from. Default 10.244.0.0/16. */
  podCidr?: string;
  /** The block Service cluster IPs come from. Default 10.96.0.0/12. */
  serviceCidr?: string;
  /** Run the workload, kubelet, endpoints and garbage controllers. Default true. */
  controllers?: boolean;
  /** Seed of uids and generated names. */
  seed?: number;
  now?: () => Date;
  /** Request bodies over this are refused with 413. Default 3 MiB, the real server's limit. */
  maxBodyBytes?: number;
}

/** What a test can reach behind the API: writes that skip HTTP, and the failures a real cluster has. */
export interface StandInStore {
  /** The latest resourceVersion. */
  readonly resourceVersion: string;
  /** Stores an object as given (status included); kind and apiVersion pick the resource. */
  create(obj: object): Outcome<KubeObject>;
  /** Replaces an object as given (status included); a resourceVersion in it must be current. */
  update(obj: object): Outcome<KubeObject>;
  delete(ref: ObjectRef, propagation?: Propagation): Outcome<KubeObject>;
  get(ref: ObjectRef): KubeObject | undefined;
  list(apiVersion: string, kind: string, namespace?: string): KubeObject[];
  /** Forgets the change history: older resourceVersions get 410 Expired. Returns the current one. */
  compact(): string;
  /** Cuts every open watch as a dropped connection would; how many there were. */
  dropWatches(): number;
  readonly openWatches: number;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface RecordedRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  contentType?: string;
  status?: number;
}

export interface ApiServer {
  /** `http://host:port` */
  readonly url: string;
  kubeconfigYaml(namespace?: string): string;
  writeKubeconfig(path: string, namespace?: string): void;
  readonly store: StandInStore;
  /** The latest requests (at most 1000), oldest first: what a client asked, for tests to assert on. */
  readonly requests: readonly RecordedRequest[];
  close(): Promise<void>;
}

const MAX_RECORDED = 1000;
const DEFAULT_BODY_LIMIT = 3 << 20;

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  });
  res.end(text);
}

function fail(res: ServerResponse, f: KubeFailure): void {
  const s = statusObject(f);
  json(res, s.code, s);
}

/** The Table form the client asked for in Accept, if any. */
function tableRequest(
  req: IncomingMessage,
  params: URLSearchParams,
): { version: 'v1' | 'v1beta1'; includeObject: IncludeObject } | undefined {
  const accept = req.headers.accept ?? '';
  if (!/as=Table/.test(accept)) return undefined;
  const version = /as=Table;v=v1;g=meta\.k8s\.io|as=Table;g=meta\.k8s\.io;v=v1(?!beta)/.test(accept) ? 'v1' : 'v1beta1';
  const include = params.get('includeObject');
  return { version, includeObject: include === 'None' || include === 'Object' ? include : 'Metadata' };
}

function stripType(o: KubeObject): Omit<KubeObject, 'kind' | 'apiVersion'> {
  const { kind: _k, apiVersion: _a, ...rest } = o;
  return rest;
}

const PROPAGATIONS = new Set(['Orphan', 'Background', 'Foreground']);

/** DeleteOptions from the body (kubectl sends them there) or the query. */
function deleteOptions(
  body: unknown,
  params: URLSearchParams,
): Outcome<{ propagation?: Propagation; preconditions?: { uid?: string; resourceVersion?: string }; dryRun: boolean }> {
  const b = isMap(body) ? body : {};
  const propagation = (b.propagationPolicy ?? params.get('propagationPolicy') ?? undefined) as string | undefined;
  if (propagation !== undefined && !PROPAGATIONS.has(propagation))
    return refuse(
      'E_KAPI_BAD_REQUEST',
      `propagationPolicy: Unsupported value: "${propagation}": supported values: "Foreground", "Background", "Orphan"`,
      undefined,
      'propagationPolicy',
    );
  const orphan = b.orphanDependents ?? params.get('orphanDependents');
  const pre = isMap(b.preconditions) ? b.preconditions : {};
  const dryRun = (Array.isArray(b.dryRun) && b.dryRun.includes('All')) || params.getAll('dryRun').includes('All');
  return {
    ok: true,
    value: {
      propagation: (propagation as Propagation | undefined) ?? (orphan === true || orphan === 'true' ? 'Orphan' : undefined),
      preconditions: {
        uid: typeof pre.uid === 'string' ? pre.uid : undefined,
        resourceVersion: typeof pre.resourceVersion === 'string' ? pre.resourceVersion : undefined,
      },
      dryRun,
    },
  };
}

function bootstrapObjects(nodes: readonly string[]): KubeObject[] {
  const namespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'].map((name) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name },
  }));
  const nodeObjects = nodes.map((name, i) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' } },
    spec: {},
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
      addresses: [
        { type: 'InternalIP', address: `172.18.0.${i + 2}` },
        { type: 'Hostname', address: name },
      ],
      nodeInfo: {
        kubeletVersion: SERVER_VERSION.gitVersion,
        osImage: 'flowtap stand-in',
        kernelVersion: 'stand-in',
        containerRuntimeVersion: 'containerd://stand-in',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  }));
  return [...namespaces, ...nodeObjects];
}

export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServer> {
  const nodes = opts.nodes ?? ['node-1', 'node-2'];
  const store = new ObjectStore({
    historySize: opts.maxWatchEvents ?? 10_000,
    now: opts.now ?? (() => new Date()),
    random: seededRng(opts.seed ?? 1),
    serviceCidr: opts.serviceCidr ?? '10.96.0.0/12',
  });
  const controllers = opts.controllers === false ? undefined : new Controllers(store, { podCidr: opts.podCidr ?? '10.244.0.0/16' });
  const hub = new WatchHub(store, opts.bookmarkEveryMs ?? 60_000);
  const bodyLimit = opts.maxBodyBytes ?? DEFAULT_BODY_LIMIT;
  const requests: RecordedRequest[] = [];

  const load = (obj: object, index: number | string): KubeObject => {
    const o = obj as KubeObject;
    const r = isMap(o) ? resourceByKind(String(o.apiVersion), String(o.kind)) : undefined;
    if (!r)
      throw new FlowtapError(
        diag('E_KAPI_NOT_FOUND', `initial object ${index}: no resource serves ${String(o?.apiVersion)} ${String(o?.kind)}`),
      );
    const made = store.create(r, o.metadata?.namespace, o);
    if (!made.ok) throw new FlowtapError({ ...made.error, message: `initial object ${index}: ${made.error.message}` });
    return made.value;
  };
  for (const o of bootstrapObjects(nodes)) load(o, `${(o as KubeObject).kind} ${o.metadata.name}`);
  load(
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { clusterIP: store.firstServiceIp(), ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
    },
    'Service kubernetes',
  );
  const given = opts.objects ?? [];
  const isNamespace = (o: object) => isMap(o) && o.kind === 'Namespace';
  for (const [i, o] of given.entries()) if (isNamespace(o)) load(o, i);
  for (const [i, o] of given.entries()) if (!isNamespace(o)) load(o, i);

  const server = createServer((req, res) => {
    const record: RecordedRequest = { method: req.method ?? '', url: req.url ?? '' };
    if (req.headers['content-type']) record.contentType = req.headers['content-type'];
    requests.push(record);
    if (requests.length > MAX_RECORDED) requests.splice(0, requests.length - MAX_RECORDED);
    res.on('finish', () => (record.status = res.statusCode));
    handle(req, res).catch((e: unknown) => {
      // A bug, not a refusal: answered as the real server answers its own failures.
      const message = e instanceof Error ? e.message : String(e);
      if (!res.headersSent)
        json(res, 500, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 });
      else res.destroy();
    });
  });

  async function body(req: IncomingMessage, what: string, contentType?: string): Promise<Outcome<unknown>> {
    const raw = await readBody(req, bodyLimit);
    if (!raw.ok) return raw;
    if (raw.value.length === 0) return { ok: true, value: undefined };
    return parseBody(raw.value, contentType ?? req.headers['content-type'], what);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://stand-in');
    const target = parsePath(u.pathname);
    const method = req.method ?? 'GET';
    if (target.kind !== 'object' && method !== 'GET')
      return fail(res, failure('E_KAPI_METHOD', `the server does not allow this method on the requested resource`));
    switch (target.kind) {
      case 'version':
        return json(res, 200, SERVER_VERSION);
      case 'health':
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        return void res.end('ok');
      case 'core':
        return json(res, 200, coreVersions(u.host));
      case 'groups':
        return json(res, 200, groupList());
      case 'group':
      case 'resources': {
        const doc = target.kind === 'group' ? group(target.group) : resourceList(target.group, target.version);
        return doc ? json(res, 200, doc) : fail(res, failure('E_KAPI_NOT_FOUND', 'the server could not find the requested resource'));
      }
      case 'openapi': {
        const doc = openApiV2(req.headers.accept ?? '');
        res.writeHead(200, { 'Content-Type': doc.contentType, 'Content-Length': doc.body.length });
        return void res.end(doc.body);
      }
      case 'unknown':
        return fail(res, failure('E_KAPI_NOT_FOUND', 'the server could not find the requested resource'));
    }
    const { resource: r, name, subresource } = target;
    const namespace = r.namespaced ? target.namespace : undefined;
    const known = subresource === undefined || subresource === 'status' || (subresource === 'scale' && r.scaleSubresource);
    if (!known) return fail(res, failure('E_KAPI_NOT_FOUND', 'the server could not find the requested resource'));
    const params = u.searchParams;
    const allNamespaces = r.namespaced && namespace === undefined;
    if (allNamespaces && (method !== 'GET' || name !== undefined))
      return fail(res, failure('E_KAPI_METHOD', `${method} on ${r.plural} needs a namespace in the path`));
    const dryRun = params.getAll('dryRun').includes('All');
    switch (method) {
      case 'GET':
        if (subresource === 'scale' && name !== undefined) {
          const o = store.get(r, namespace, name);
          return o ? json(res, 200, scaleOf(o)) : fail(res, notFound(r.plural, r.group, name));
        }
        return get(req, res, r, namespace, name, target.watchPath, params);
      case 'POST': {
        if (name !== undefined) return fail(res, failure('E_KAPI_METHOD', 'POST is for a collection, not an object'));
        const b = await body(req, r.kind);
        if (!b.ok) return fail(res, b.error);
        const made = store.create(r, namespace, b.value, { dryRun, resetStatus: true });
        return made.ok ? json(res, 201, made.value) : fail(res, made.error);
      }
      case 'PUT': {
        if (name === undefined) return fail(res, failure('E_KAPI_METHOD', 'PUT needs an object name'));
        const b = await body(req, r.kind);
        if (!b.ok) return fail(res, b.error);
        if (subresource === 'scale') return writeScale(res, r, namespace, name, () => ({ ok: true, value: b.value }), dryRun);
        const done = store.update(r, namespace, name, b.value, {
          dryRun,
          subresource: subresource as 'status' | undefined,
          keepStatus: r.statusSubresource,
        });
        return done.ok ? json(res, 200, done.value) : fail(res, done.error);
      }
      case 'PATCH': {
        if (name === undefined) return fail(res, failure('E_KAPI_METHOD', 'PATCH needs an object name'));
        const type = patchType(req.headers['content-type']);
        if (!type)
          return fail(
            res,
            failure(
              'E_KAPI_MEDIA_TYPE',
              `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`,
            ),
          );
        const b = await body(req, r.kind, type === 'apply' ? 'application/yaml' : 'application/json');
        if (!b.ok) return fail(res, b.error);
        const current = store.get(r, namespace, name);
        if (type === 'apply') {
          if (!params.get('fieldManager'))
            return fail(
              res,
              failure(
                'E_KAPI_INVALID',
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
                undefined,
                'fieldManager',
              ),
            );
          if (!isMap(b.value)) return fail(res, failure('E_KAPI_BAD_REQUEST', 'an apply patch must be an object'));
          if (!current) {
            const made = store.create(
              r,
              namespace,
              { ...b.value, metadata: { ...(isMap(b.value.metadata) ? b.value.metadata : {}), name } },
              { dryRun, resetStatus: true },
            );
            return made.ok ? json(res, 201, made.value) : fail(res, made.error);
          }
        }
        if (!current) return fail(res, notFound(r.plural, r.group, name));
        if (subresource === 'scale') {
          if (type === 'apply') return fail(res, failure('E_KAPI_MEDIA_TYPE', 'apply patches of the scale subresource are not supported'));
          return writeScale(res, r, namespace, name, (o) => applyPatch(type, 'Scale', scaleOf(o), b.value), dryRun);
        }
        const patched = type === 'apply' ? strategicMerge(r.kind, current, b.value) : applyPatch(type, r.kind, current, b.value);
        if (!patched.ok) return fail(res, patched.error);
        const done = store.update(r, namespace, name, patched.value, {
          dryRun,
          subresource: subresource as 'status' | undefined,
          keepStatus: r.statusSubresource,
        });
        return done.ok ? json(res, 200, done.value) : fail(res, done.error);
      }
      case 'DELETE': {
        const b = await body(req, 'DeleteOptions');
        if (!b.ok) return fail(res, b.error);
        const o = deleteOptions(b.value, params);
        if (!o.ok) return fail(res, o.error);
        if (name !== undefined) {
          const gone = store.delete(r, namespace, name, o.value);
          return gone.ok ? json(res, 200, gone.value) : fail(res, gone.error);
        }
        const page = listPage(store, r, namespace, params);
        if (!page.ok) return fail(res, page.error);
        const deleted: KubeObject[] = [];
        for (const item of page.value.items) {
          const gone = store.delete(r, item.metadata.namespace, item.metadata.name!, {
            propagation: o.value.propagation,
            dryRun: o.value.dryRun,
          });
          if (gone.ok) deleted.push(gone.value);
        }
        return json(res, 200, {
          kind: `${r.kind}List`,
          apiVersion: apiVersionOf(r),
          metadata: { resourceVersion: String(store.revision) },
          items: deleted.map(stripType),
        });
      }
      default:
        return fail(res, failure('E_KAPI_METHOD', `the server does not allow this method on the requested resource`));
    }
  }

  /** PUT or PATCH of /scale: the Scale the request makes, written as the object's spec.replicas. */
  function writeScale(
    res: ServerResponse,
    r: ResourceType,
    namespace: string | undefined,
    name: string,
    scale: (current: KubeObject) => Outcome<unknown>,
    dryRun: boolean,
  ): void {
    const current = store.get(r, namespace, name);
    if (!current) return fail(res, notFound(r.plural, r.group, name));
    const body = scale(current);
    if (!body.ok) return fail(res, body.error);
    const next = scaled(current, body.value);
    if (!next.ok) return fail(res, next.error);
    const done = store.update(r, namespace, name, next.value, { dryRun, keepStatus: true });
    return done.ok ? json(res, 200, scaleOf(done.value)) : fail(res, done.error);
  }

  function get(
    req: IncomingMessage,
    res: ServerResponse,
    r: ResourceType,
    namespace: string | undefined,
    name: string | undefined,
    watchPath: boolean,
    params: URLSearchParams,
  ): void {
    const table = tableRequest(req, params);
    const watch = watchPath || params.get('watch') === 'true' || params.get('watch') === '1';
    if (watch) {
      if (name !== undefined) {
        const byName = `metadata.name=${name.replace(/[\\,=]/g, (c) => `\\${c}`)}`;
        const fields = params.get('fieldSelector');
        params.set('fieldSelector', fields ? `${fields},${byName}` : byName);
      }
      const opened = hub.open(req, res, { resource: r, namespace, params, table });
      if (!opened.ok) fail(res, opened.error);
      return;
    }
    if (name !== undefined) {
      const o = store.get(r, namespace, name);
      if (!o) return fail(res, notFound(r.plural, r.group, name));
      if (table) return json(res, 200, toTable(r, [o], { resourceVersion: o.metadata.resourceVersion }, { ...table, now: store.now }));
      return json(res, 200, o);
    }
    const page = listPage(store, r, namespace, params);
    if (!page.ok) return fail(res, page.error);
    const meta: Record<string, unknown> = { resourceVersion: page.value.resourceVersion };
    if (page.value.continue) meta.continue = page.value.continue;
    if (page.value.remainingItemCount !== undefined) meta.remainingItemCount = page.value.remainingItemCount;
    if (table) return json(res, 200, toTable(r, page.value.items, meta, { ...table, now: store.now }));
    json(res, 200, { kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata: meta, items: page.value.items.map(stripType) });
  }

  const facadeType = (apiVersion: string, kind: string): Outcome<ResourceType> => {
    const r = resourceByKind(apiVersion, kind);
    return r ? { ok: true, value: r } : refuse('E_KAPI_NOT_FOUND', `the server doesn't have a resource type for ${apiVersion} ${kind}`);
  };
  const facade: StandInStore = {
    get resourceVersion() {
      return String(store.revision);
    },
    get openWatches() {
      return hub.size;
    },
    create(obj) {
      const o = obj as KubeObject;
      const r = facadeType(String(o.apiVersion), String(o.kind));
      return r.ok ? store.create(r.value, o.metadata?.namespace, o) : r;
    },
    update(obj) {
      const o = obj as KubeObject;
      const r = facadeType(String(o.apiVersion), String(o.kind));
      if (!r.ok) return r;
      return store.update(r.value, o.metadata?.namespace, String(o.metadata?.name), o);
    },
    delete(ref, propagation) {
      const r = facadeType(ref.apiVersion, ref.kind);
      return r.ok ? store.delete(r.value, ref.namespace, ref.name, { propagation }) : r;
    },
    get(ref) {
      const r = resourceByKind(ref.apiVersion, ref.kind);
      const o = r && store.get(r, ref.namespace, ref.name);
      return o && copy(o);
    },
    list(apiVersion, kind, namespace) {
      const r = resourceByKind(apiVersion, kind);
      const items = r ? store.items(r, namespace) : undefined;
      return items?.ok ? items.value.map((e) => copy(e.object)) : [];
    },
    compact: () => String(store.compact()),
    dropWatches: () => hub.dropAll(),
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;

  return {
    url,
    kubeconfigYaml: (namespace) => kubeconfig(url, namespace),
    writeKubeconfig: (path, namespace) => writeFileSync(path, kubeconfig(url, namespace), { mode: 0o600 }),
    store: facade,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        hub.close();
        controllers?.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
