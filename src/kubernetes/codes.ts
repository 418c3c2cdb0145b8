/** The Kubernetes adapter's diagnostic codes by name (their meanings live in the one registry, src/diagnostics/codes.ts). */
import type { DiagCode } from '../diagnostics/index.js';

export const KubernetesCode = {
  KUBECONFIG: 'E_K8S_KUBECONFIG',
  API: 'E_K8S_API',
  APP: 'E_K8S_APP',
  REQUIREMENTS: 'E_K8S_REQUIREMENTS',
  UNSUPPORTED: 'E_K8S_UNSUPPORTED',
  WATCH: 'W_K8S_WATCH',
  SKIPPED: 'W_K8S_SKIPPED',
  UNKNOWN_INSTANCE: 'E_UNKNOWN_INSTANCE',
} as const satisfies Record<string, DiagCode>;
