/**
 * The fields the Kubernetes API defines for the parts of objects that decide
 * connectivity. A key outside these sets is a field the API server would drop (or
 * refuse under strict validation): usually a misspelling, such as `podSelecter`, that
 * silently changes what a policy means, so the import warns about it. Parts flowtap
 * does not read (most of a pod spec) are not checked.
 */
const fields = (...names: string[]): ReadonlySet<string> => new Set(names);

export const KNOWN = {
  object: fields('apiVersion', 'kind', 'metadata', 'spec', 'status'),
  metadata: fields(
    'name',
    'generateName',
    'namespace',
    'selfLink',
    'uid',
    'resourceVersion',
    'generation',
    'creationTimestamp',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
    'labels',
    'annotations',
    'ownerReferences',
    'finalizers',
    'managedFields',
  ),
  ownerReference: fields('apiVersion', 'kind', 'name', 'uid', 'controller', 'blockOwnerDeletion'),
  containerPort: fields('containerPort', 'hostPort', 'hostIP', 'name', 'protocol'),

  networkPolicySpec: fields('podSelector', 'ingress', 'egress', 'policyTypes'),
  ingressRule: fields('from', 'ports'),
  egressRule: fields('to', 'ports'),
  policyPeer: fields('podSelector', 'namespaceSelector', 'ipBlock'),
  ipBlock: fields('cidr', 'except'),
  policyPort: fields('protocol', 'port', 'endPort'),
  selector: fields('matchLabels', 'matchExpressions'),
  selectorRequirement: fields('key', 'operator', 'values'),

  adminPolicySpec: fields('priority', 'subject', 'ingress', 'egress'),
  baselinePolicySpec: fields('subject', 'ingress', 'egress'),
  adminSubject: fields('namespaces', 'pods'),
  namespacedPods: fields('namespaceSelector', 'podSelector'),
  adminIngressRule: fields('name', 'action', 'from', 'ports'),
  adminEgressRule: fields('name', 'action', 'to', 'ports'),
  adminIngressPeer: fields('namespaces', 'pods'),
  adminEgressPeer: fields('namespaces', 'pods', 'nodes', 'networks'),
  adminPort: fields('portNumber', 'namedPort', 'portRange'),
  adminPortNumber: fields('protocol', 'port'),
  adminPortRange: fields('protocol', 'start', 'end'),

  serviceSpec: fields(
    'selector',
    'ports',
    'type',
    'clusterIP',
    'clusterIPs',
    'externalIPs',
    'externalName',
    'externalTrafficPolicy',
    'internalTrafficPolicy',
    'healthCheckNodePort',
    'ipFamilies',
    'ipFamilyPolicy',
    'loadBalancerIP',
    'loadBalancerClass',
    'loadBalancerSourceRanges',
    'allocateLoadBalancerNodePorts',
    'publishNotReadyAddresses',
    'sessionAffinity',
    'sessionAffinityConfig',
    'trafficDistribution',
  ),
  servicePort: fields('name', 'protocol', 'appProtocol', 'port', 'targetPort', 'nodePort'),

  ingressSpec: fields('ingressClassName', 'defaultBackend', 'rules', 'tls'),
  ingressHostRule: fields('host', 'http'),
  ingressHttp: fields('paths'),
  ingressPath: fields('path', 'pathType', 'backend'),
  ingressBackend: fields('service', 'resource'),
  ingressServiceBackend: fields('name', 'port'),
  ingressServicePort: fields('name', 'number'),
} as const;
