export * from './types.js';
export { ModelCode } from './codes.js';
export { parseApp } from './parse-app.js';
export { loadApp, MAX_DESCRIPTOR_BYTES } from './load-app.js';
export { checkApp } from './check-app.js';
export { defaultContext, noDamage } from './check-context.js';
export { plainLocator, yamlLocator } from './locator.js';
export { formatField } from './field-path.js';
export { candidateNodes, placeInstances } from './placement.js';
export { planAddresses, nodeSubnet, monitorSubnet } from './addressing.js';
export { instancesOf, serviceOf, findService, findPort } from './lookup.js';
export { modelFacts, ANY, ANY_SUBJECT } from './facts.js';
export { APP_PROTOCOLS, DEFAULT_NETWORK, DEFAULT_MONITOR_CAPACITY } from './schema.js';
export { HTTP_METHODS, SQL_STATEMENTS, httpPathProblem, natsSubjectProblem } from './l7-syntax.js';
export { isName, isNodeName } from './names.js';
export { parseCidr, parseIpv4, formatIpv4 } from './ipv4.js';
export { UNDERLAY_NETWORK } from './layout.js';
//# sourceMappingURL=index.js.map