/**
 * A kubeconfig for the stand-in: one cluster, one context, a user with no credentials (the
 * stand-in does not authenticate), plain HTTP. `insecure-skip-tls-verify` is there because
 * @kubernetes/client-node refuses an http:// server without it; kubectl ignores it for HTTP.
 */
import { stringify } from 'yaml';

const CONTEXT = 'flowtap-stand-in';

export function kubeconfig(server: string, namespace = 'default'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: CONTEXT, cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: CONTEXT, user: {} }],
    contexts: [{ name: CONTEXT, context: { cluster: CONTEXT, user: CONTEXT, namespace } }],
    'current-context': CONTEXT,
    preferences: {},
  });
}
