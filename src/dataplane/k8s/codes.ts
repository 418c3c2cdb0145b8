import type { DiagCode } from '../../diagnostics/index.js';

/** The diagnostic codes the Kubernetes exports and the CiliumNetworkPolicy reader emit. */
export const K8sExportCode = {
  /** Something the target API cannot say (L7 rules on UDP), or a CNP field the reader does not model. */
  UNSUPPORTED: 'E_BACKEND_UNSUPPORTED',
  /** A tenant or name that Kubernetes would refuse as a label value or object name. */
  NAME: 'E_K8S_NAME',
  /** Two applications of different tenants in one namespace. */
  DUP_NAMESPACE: 'E_K8S_DUP_OBJECT',
  UNKNOWN_SERVICE: 'E_UNKNOWN_SERVICE',
  UNKNOWN_PORT: 'E_UNKNOWN_PORT',
  HTTP_METHOD: 'E_HTTP_METHOD',
  HTTP_PATH: 'E_HTTP_PATH',
  READ: 'E_READ',
  YAML_SYNTAX: 'E_YAML_SYNTAX',
  DUPLICATE_KEY: 'E_DUPLICATE_KEY',
  /** A document that is not a Kubernetes object. */
  NOT_OBJECT: 'E_K8S_NOT_OBJECT',
  TYPE: 'E_TYPE',
  MISSING_KEY: 'E_MISSING_KEY',
  UNKNOWN_KEY: 'E_UNKNOWN_KEY',
  ENUM: 'E_ENUM',
  SELECTOR: 'E_K8S_SELECTOR',
  PORT: 'E_K8S_PORT',
  /** An HTTP regular expression outside the subset the evaluator runs in linear time. */
  REGEX: 'E_K8S_REGEX',
} as const satisfies Record<string, DiagCode>;
