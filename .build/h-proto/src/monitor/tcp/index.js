export { ConnTracker } from './conn-tracker.js';
export { Connection } from './connection.js';
export { Endpoint } from './endpoint.js';
export { EndpointState, endpointStateName } from './tcp-state.js';
export { UidGenerator } from './conn-uid.js';
export { connHash, icmpCounterpart } from './conn-hash.js';
//# sourceMappingURL=index.js.map