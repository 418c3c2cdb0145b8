/**
 * An application's requirements on a cluster: the descriptor's `requirements:` section, kept
 * in the ConfigMap `flowtap-requirements` (key `requirements.yaml`) of its namespace.
 *
 * They are checked by the descriptor's own parser, so a requirement on a cluster means what
 * it means in an app.yaml, with the same messages: the section is followed by a generated
 * descriptor of the workloads found (tenant, app, services and their ports), and the whole is
 * parsed as one descriptor. The section comes first, so every position in a message about a
 * requirement is a line and column of the ConfigMap's text.
 */
import { z } from 'zod/v3';
import { type Diagnostic, diag } from '../diagnostics/index.js';
import { parseApp, parseYamlShape, type Requirement, type Service } from '../model/index.js';
import { APP_KEY, REQUIREMENTS_KEY, TENANT_KEY } from './annotations.js';
import { KubernetesCode } from './codes.js';
import { isRecord, type KubeObject, REQUIREMENTS_CONFIGMAP } from './watch/index.js';

/** The API server keeps a ConfigMap within 1 MiB; one that claims more is not one. */
const MAX_TEXT = 1024 * 1024;

const sectionSchema = z.strictObject({ requirements: z.array(z.unknown()).default([]) });

export interface RequirementsInput {
  namespace: string;
  tenant: string;
  app: string;
  /** The workloads' services, by their flowtap names. */
  services: readonly Service[];
}

export interface CheckedRequirements {
  requirements: Requirement[];
  /** What is wrong with the section (positioned in the ConfigMap's text). */
  problems: Diagnostic[];
  /** The section could not be used: a firewall inferred without it would cut what is needed. */
  broken: boolean;
  /** Workloads whose names cannot be flowtap service names, with why. */
  unusable: Map<string, Diagnostic>;
  /** The tenant or application name is not a flowtap name. */
  fatal: Diagnostic[];
}

function requirementsFile(namespace: string): string {
  return `${namespace}/configmap/${REQUIREMENTS_CONFIGMAP}/${REQUIREMENTS_KEY}`;
}

export function checkRequirements(configMap: KubeObject | undefined, input: RequirementsInput): CheckedRequirements {
  const file = requirementsFile(input.namespace);
  const out: CheckedRequirements = { requirements: [], problems: [], broken: false, unusable: new Map(), fatal: [] };
  let text = 'requirements: []\n';
  if (configMap) {
    const data = isRecord(configMap.data) ? configMap.data : {};
    const given = data[REQUIREMENTS_KEY];
    const where = `ConfigMap ${input.namespace}/${REQUIREMENTS_CONFIGMAP}`;
    if (typeof given !== 'string') {
      const keys = Object.keys(data);
      out.problems.push(
        diag(
          KubernetesCode.REQUIREMENTS,
          `${where} has no key ${REQUIREMENTS_KEY} (${keys.length ? `it has ${keys.join(', ')}` : 'it has no data'}); put the descriptor's requirements section there`,
          { file: `${input.namespace}/configmap/${REQUIREMENTS_CONFIGMAP}`, field: 'data' },
        ),
      );
      out.broken = true;
    } else if (given.length > MAX_TEXT) {
      out.problems.push(
        diag(KubernetesCode.REQUIREMENTS, `${where}: ${REQUIREMENTS_KEY} is ${given.length} bytes; the limit is ${MAX_TEXT}`, { file }),
      );
      out.broken = true;
    } else if (given.trim() !== '') {
      const shaped = parseYamlShape(sectionSchema, given, file, "the descriptor's requirements section (`requirements:` and its list)");
      if (!shaped.ok) {
        out.problems.push(...shaped.errors);
        out.broken = true;
      } else if (/^\s*(#.*\n\s*)*\{/.test(given)) {
        // The generated descriptor is appended in block style: a flow mapping cannot be continued.
        out.problems.push(
          diag(KubernetesCode.REQUIREMENTS, `${where}: write ${REQUIREMENTS_KEY} in block style (\`requirements:\` on a line of its own)`, {
            file,
            line: 1,
            col: 1,
          }),
        );
        out.broken = true;
      } else text = given.endsWith('\n') ? given : `${given}\n`;
    }
  }
  if (out.broken) text = 'requirements: []\n';
  if (!input.services.length) {
    // A descriptor needs a service; a namespace may have none yet.
    const waiting = parseYamlShape(sectionSchema, text, file, 'the requirements section');
    const n = waiting.ok ? waiting.value.value.requirements.length : 0;
    if (n)
      out.problems.push(
        diag(KubernetesCode.REQUIREMENTS, `namespace ${input.namespace} has no workloads yet; its ${n} requirement(s) wait for them`, {
          file,
        }),
      );
    out.broken ||= n > 0;
    return out;
  }

  let services = [...input.services];
  // At most: leave out unusable workloads, then give up on a broken section, then succeed.
  for (let attempt = 0; attempt < 3; attempt++) {
    const parsed = parseApp(text + generated(input, services), file);
    if (parsed.ok) {
      out.requirements = parsed.value.requirements;
      return out;
    }
    const lines = text.split('\n').length - 1;
    const inSection = parsed.errors.filter((d) => d.loc?.line !== undefined && d.loc.line <= lines);
    const outside = parsed.errors.filter((d) => !inSection.includes(d));
    for (const d of outside) {
      const m = /^services\.([^.[]+)/.exec(d.loc?.field ?? '');
      if (m && services.some((x) => x.name === m[1])) {
        out.unusable.set(
          m[1],
          diag(KubernetesCode.SKIPPED, `workload ${input.namespace}/${m[1]} is left out: ${d.message}`, {
            file: `${input.namespace}/${m[1]}`,
          }),
        );
        services = services.filter((x) => x.name !== m[1]);
      } else {
        const field = d.loc?.field === 'tenant' ? TENANT_KEY : d.loc?.field === 'app' ? APP_KEY : d.loc?.field;
        out.fatal.push(
          diag(KubernetesCode.APP, `namespace ${input.namespace}: ${d.message}`, {
            file: `namespace/${input.namespace}`,
            ...(field ? { field } : {}),
          }),
        );
      }
    }
    if (out.fatal.length) return out;
    if (outside.length) continue;
    out.problems.push(...inSection);
    out.broken = true;
    text = 'requirements: []\n';
  }
  out.fatal.push(
    diag(KubernetesCode.APP, `namespace ${input.namespace}: its workloads do not make a valid application`, {
      file: `namespace/${input.namespace}`,
    }),
  );
  return out;
}

/** The rest of a descriptor, in block style at the top level (flow values), after the section. */
function generated(input: RequirementsInput, services: readonly Service[]): string {
  const body: Record<string, unknown> = {};
  for (const s of services)
    body[s.name] = {
      exposure: s.exposure,
      // Only names, ports and exposure matter to the requirement checks; counts and placement are the cluster's.
      replicas: 1,
      ports: s.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port, app: p.app })),
    };
  return [
    `tenant: ${JSON.stringify(input.tenant)}`,
    `app: ${JSON.stringify(input.app)}`,
    'nodes: [{"name": "cluster"}]',
    `services: ${JSON.stringify(body)}`,
    '',
  ].join('\n');
}
