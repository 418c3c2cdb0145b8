export { ConnTracker, type ConnHandlers, type ConnTrackerOptions, type ConnTrackerStats } from './conn-tracker.js';
export { Connection, type Direction, type CloseReason } from './connection.js';
export { Endpoint, type StreamHost } from './endpoint.js';
export { EndpointState, endpointStateName, type EndpointStateValue } from './tcp-state.js';
export { UidGenerator } from './conn-uid.js';
export { connHash, icmpCounterpart } from './conn-hash.js';
