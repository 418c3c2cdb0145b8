/**
 * The discovery documents clients read before anything else: kubectl maps `get pods` and
 * `apply -f` kinds to paths from these, and caches them under ~/.kube/cache/discovery.
 */
import { apiVersionOf, groupVersions, RESOURCES, type ResourceType } from './resources.js';

/** The version the stand-in claims: recent enough for discovery.k8s.io/v1 and the tooling of today. */
export const SERVER_VERSION = Object.freeze({
  major: '1',
  minor: '29',
  gitVersion: 'v1.29.0',
  gitCommit: 'flowtap-stand-in',
  gitTreeState: 'clean',
  buildDate: '2024-01-01T00:00:00Z',
  goVersion: 'go1.21.5',
  compiler: 'gc',
  platform: 'linux/amd64',
});

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function coreVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function groupList(): object {
  const groups = new Map<string, string[]>();
  for (const { group, version } of groupVersions()) if (group) groups.set(group, [...(groups.get(group) ?? []), version]);
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].map(([name, versions]) => groupDocument(name, versions)),
  };
}

function groupDocument(name: string, versions: string[]): object {
  const list = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: list, preferredVersion: list[0] };
}

/** `/apis/<group>`: the group alone; undefined for a group the stand-in does not serve. */
export function group(name: string): object | undefined {
  const versions = groupVersions()
    .filter((gv) => gv.group === name)
    .map((gv) => gv.version);
  return versions.length ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDocument(name, versions) } : undefined;
}

/** `/api/v1` or `/apis/<group>/<version>`; undefined for a version the stand-in does not serve. */
export function resourceList(groupName: string, version: string): object | undefined {
  const types = RESOURCES.filter((r) => r.group === groupName && r.version === version);
  if (!types.length) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf(types[0]),
    resources: types.flatMap((r) => [
      apiResource(r),
      ...(r.statusSubresource ? [statusResource(r)] : []),
      ...(r.scaleSubresource ? [scaleResource(r)] : []),
    ]),
  };
}

function apiResource(r: ResourceType): object {
  const verbs = r.plural === 'namespaces' ? VERBS.filter((v) => v !== 'deletecollection') : VERBS;
  const out: Record<string, unknown> = { name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs };
  if (r.shortNames.length) out.shortNames = r.shortNames;
  if (r.categories.length) out.categories = r.categories;
  return out;
}

function scaleResource(r: ResourceType): object {
  return {
    name: `${r.plural}/scale`,
    singularName: '',
    namespaced: r.namespaced,
    group: 'autoscaling',
    version: 'v1',
    kind: 'Scale',
    verbs: ['get', 'patch', 'update'],
  };
}

function statusResource(r: ResourceType): object {
  return { name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] };
}

/**
 * `/openapi/v2`, without a single definition. kubectl (1.20) refuses to apply without some
 * document; given one that describes no kind it skips client-side validation and takes patch
 * metadata from its own compiled-in types. It asks for protobuf: a gnostic `Document` whose only
 * field is `swagger` (field 1, length-delimited) = "2.0".
 */
export function openApiV2(accept: string): { contentType: string; body: Buffer } {
  if (accept.includes('protobuf')) {
    const swagger = Buffer.from('2.0');
    return {
      contentType: 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
      body: Buffer.concat([Buffer.from([0x0a, swagger.length]), swagger]),
    };
  }
  const doc = { swagger: '2.0', info: { title: 'flowtap stand-in', version: SERVER_VERSION.gitVersion }, paths: {}, definitions: {} };
  return { contentType: 'application/json', body: Buffer.from(JSON.stringify(doc)) };
}
