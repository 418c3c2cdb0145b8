/**
 * The defaults the real API server fills in on every write, for the fields that readers of this
 * stand-in look at (a NetworkPolicy's policyTypes, a namespace's name label, a port's protocol,
 * a Deployment's replicas). Defaulting is idempotent, so it runs on create and update alike.
 * It changes the object it is given: the store passes its own fresh copy.
 */
import { isMap, type JsonMap, type KubeObject } from './object.js';
import type { ResourceType } from './resources.js';

function setDefault(m: JsonMap, key: string, value: unknown): void {
  if (m[key] === undefined) m[key] = value;
}

function child(m: JsonMap, key: string): JsonMap {
  if (!isMap(m[key])) m[key] = {};
  return m[key] as JsonMap;
}

function eachMap(v: unknown, f: (m: JsonMap) => void): void {
  if (Array.isArray(v)) for (const x of v) if (isMap(x)) f(x);
}

function podSpec(spec: JsonMap): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  for (const list of ['initContainers', 'containers'])
    eachMap(spec[list], (c) => {
      const image = typeof c.image === 'string' ? c.image : '';
      const tagged = /:[^/]+$/.test(image) && !image.endsWith(':latest');
      setDefault(c, 'imagePullPolicy', tagged || image.includes('@') ? 'IfNotPresent' : 'Always');
      setDefault(c, 'terminationMessagePath', '/dev/termination-log');
      eachMap(c.ports, (p) => setDefault(p, 'protocol', 'TCP'));
    });
}

function template(spec: JsonMap): void {
  podSpec(child(child(spec, 'template'), 'spec'));
}

export function applyDefaults(resource: ResourceType, obj: KubeObject): void {
  const spec = () => child(obj, 'spec');
  switch (resource.kind) {
    case 'Namespace': {
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name ?? '' };
      setDefault(spec(), 'finalizers', ['kubernetes']);
      setDefault(child(obj, 'status'), 'phase', 'Active');
      break;
    }
    case 'Pod':
      podSpec(spec());
      break;
    case 'Service': {
      const s = spec();
      setDefault(s, 'type', 'ClusterIP');
      setDefault(s, 'sessionAffinity', 'None');
      eachMap(s.ports, (p) => {
        setDefault(p, 'protocol', 'TCP');
        setDefault(p, 'targetPort', p.port);
      });
      break;
    }
    case 'Deployment': {
      const s = spec();
      setDefault(s, 'replicas', 1);
      setDefault(s, 'revisionHistoryLimit', 10);
      setDefault(s, 'progressDeadlineSeconds', 600);
      setDefault(s, 'strategy', { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } });
      template(s);
      break;
    }
    case 'StatefulSet': {
      const s = spec();
      setDefault(s, 'replicas', 1);
      setDefault(s, 'podManagementPolicy', 'OrderedReady');
      setDefault(s, 'revisionHistoryLimit', 10);
      setDefault(s, 'updateStrategy', { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
      template(s);
      break;
    }
    case 'DaemonSet': {
      const s = spec();
      setDefault(s, 'revisionHistoryLimit', 10);
      setDefault(s, 'updateStrategy', { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } });
      template(s);
      break;
    }
    case 'ReplicaSet': {
      const s = spec();
      setDefault(s, 'replicas', 1);
      template(s);
      break;
    }
    case 'NetworkPolicy': {
      const s = spec();
      const egress = Array.isArray(s.egress) && s.egress.length > 0;
      setDefault(s, 'policyTypes', egress ? ['Ingress', 'Egress'] : ['Ingress']);
      break;
    }
    case 'Secret':
      setDefault(obj, 'type', 'Opaque');
      break;
  }
}

/**
 * What a create through the API keeps of the status the client sent: nothing, as the real
 * server resets status on create for every type with a status subresource (namespaces keep the
 * phase their defaults give them; pods start Pending).
 */
export function resetStatus(resource: ResourceType, obj: KubeObject): void {
  if (!resource.statusSubresource || resource.kind === 'Namespace') return;
  if (resource.kind === 'Pod') obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
  else delete obj.status;
}
