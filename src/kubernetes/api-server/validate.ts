/**
 * The checks the real API server makes before it stores an object, for what this stand-in's
 * readers rely on: metadata of the right types (a decode error there is a BadRequest), names
 * and labels of the right form, containers present, and a workload whose selector selects its
 * own template (else its controller would make pods it never owns). Messages follow the real
 * server's wording so a person who knows kubectl recognises them.
 */
import { at, isMap, type KubeObject } from './object.js';
import type { ResourceType } from './resources.js';
import { failure, type KubeFailure } from './status.js';
import { labelsMatch, selectorQuery } from './selectors.js';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
/** The real server's limit on all annotations of an object together. */
const ANNOTATIONS_MAX = 256 * 1024;

const STRING_FIELDS = ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp'] as const;

/** Types of the top-level and metadata fields: what Go's JSON decoding would refuse, as a BadRequest. */
export function checkMetadataTypes(body: unknown, kind: string): KubeFailure | undefined {
  const bad = (field: string, want: string) =>
    failure('E_KAPI_BAD_REQUEST', `${kind} in version is not valid: cannot decode ${field}: want ${want}`, undefined, field);
  if (!isMap(body))
    return failure('E_KAPI_BAD_REQUEST', `the object provided is unrecognized (must be of type ${kind}): not a JSON object`);
  for (const f of ['apiVersion', 'kind'] as const) if (body[f] !== undefined && typeof body[f] !== 'string') return bad(f, 'a string');
  for (const f of ['spec', 'status'] as const) if (body[f] !== undefined && body[f] !== null && !isMap(body[f])) return bad(f, 'an object');
  if (body.metadata === undefined) return undefined;
  if (!isMap(body.metadata)) return bad('metadata', 'an object');
  const meta = body.metadata;
  for (const f of STRING_FIELDS)
    if (meta[f] !== undefined && meta[f] !== null && typeof meta[f] !== 'string') return bad(`metadata.${f}`, 'a string');
  for (const f of ['labels', 'annotations'] as const) {
    const m = meta[f];
    if (m === undefined || m === null) continue;
    if (!isMap(m)) return bad(`metadata.${f}`, 'a map of strings');
    for (const [k, v] of Object.entries(m)) if (typeof v !== 'string') return bad(`metadata.${f}.${k}`, 'a string');
  }
  if (meta.ownerReferences !== undefined && meta.ownerReferences !== null) {
    if (!Array.isArray(meta.ownerReferences)) return bad('metadata.ownerReferences', 'a list');
    for (const [i, r] of meta.ownerReferences.entries())
      if (!isMap(r) || typeof r.uid !== 'string' || typeof r.name !== 'string' || typeof r.kind !== 'string')
        return bad(`metadata.ownerReferences[${i}]`, 'an object with apiVersion, kind, name and uid');
  }
  if (meta.generation !== undefined && !Number.isInteger(meta.generation)) return bad('metadata.generation', 'an integer');
  return undefined;
}

function invalid(r: ResourceType, name: string, field: string, what: string): KubeFailure {
  return failure('E_KAPI_INVALID', `${r.kind} "${name}" is invalid: ${field}: ${what}`, { name, group: r.group, kind: r.kind }, field);
}

function nameProblem(r: ResourceType, name: string): string | undefined {
  if (r.kind === 'Service') {
    if (name.length > 63 || !LABEL_1035.test(name))
      return `Invalid value: "${name}": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character`;
  } else if (r.labelNames) {
    if (name.length > 63 || !LABEL_1123.test(name))
      return `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`;
  } else if (name.length > 253 || !SUBDOMAIN.test(name))
    return `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`;
  return undefined;
}

function labelKeyProblem(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0 && (prefix.length > 253 || !SUBDOMAIN.test(prefix))) return true;
  return name.length > 63 || !QUALIFIED_NAME.test(name);
}

function containersProblem(r: ResourceType, name: string, spec: unknown, field: string): KubeFailure | undefined {
  const containers = at(spec, 'containers');
  if (!Array.isArray(containers) || containers.length === 0) return invalid(r, name, `${field}.containers`, 'Required value');
  for (const [i, c] of containers.entries())
    if (!isMap(c) || typeof c.name !== 'string' || c.name === '')
      return invalid(r, name, `${field}.containers[${i}].name`, 'Required value');
  return undefined;
}

const WORKLOADS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet']);

/** The checks of an object about to be stored (its name already settled). */
export function validateObject(r: ResourceType, obj: KubeObject): KubeFailure | undefined {
  const name = obj.metadata.name ?? '';
  const problem = nameProblem(r, name);
  if (problem) return invalid(r, name, 'metadata.name', problem);
  for (const [k, v] of Object.entries(obj.metadata.labels ?? {})) {
    if (labelKeyProblem(k))
      return invalid(
        r,
        name,
        'metadata.labels',
        `Invalid value: "${k}": name part must consist of alphanumeric characters, '-', '_' or '.'`,
      );
    if (v.length > 63 || !LABEL_VALUE.test(v))
      return invalid(
        r,
        name,
        'metadata.labels',
        `Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'`,
      );
  }
  const annotationBytes = Object.entries(obj.metadata.annotations ?? {}).reduce((n, [k, v]) => n + k.length + v.length, 0);
  if (annotationBytes > ANNOTATIONS_MAX)
    return invalid(r, name, 'metadata.annotations', `Too long: must have at most ${ANNOTATIONS_MAX} bytes`);
  if (r.kind === 'Pod') return containersProblem(r, name, obj.spec, 'spec');
  if (WORKLOADS.has(r.kind)) {
    const selector = at(obj, 'spec.selector');
    if (selector === undefined || selector === null) return invalid(r, name, 'spec.selector', 'Required value');
    const query = selectorQuery(selector);
    if (!query) return invalid(r, name, 'spec.selector', 'Invalid value: a label selector of the wrong form');
    if (query.length === 0) return invalid(r, name, 'spec.selector', 'Invalid value: empty selector is invalid for deployment');
    const labels = at(obj, 'spec.template.metadata.labels');
    if (!labelsMatch(query, isMap(labels) ? (labels as Record<string, string>) : {}))
      return invalid(r, name, 'spec.template.metadata.labels', 'Invalid value: `selector` does not match template `labels`');
    const replicas = at(obj, 'spec.replicas');
    if (replicas !== undefined && (!Number.isInteger(replicas) || (replicas as number) < 0))
      return invalid(r, name, 'spec.replicas', `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`);
    return containersProblem(r, name, at(obj, 'spec.template.spec'), 'spec.template.spec');
  }
  return undefined;
}
