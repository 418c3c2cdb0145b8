/**
 * The monitor's inline mode for redirected flows: hold each client segment until the request it
 * completes is judged, then pass it or reset the connection; failMode while not running or
 * overloaded. Data plane side: dataplane/nft-inline.ts.
 */
export { InlineGate, DEFAULT_INLINE_GATE_OPTIONS, type InlineGateOptions, type InlineGateStats, type GateSink } from './gate.js';
export { createInline, type InlineOptions, type InlineRun, type InlineSummary } from './run-inline.js';
export { NftSession, type NftSessionOptions } from './nft-session.js';
export { INLINE_LOG } from './inline-log.js';
export { frameTag } from './frame-tag.js';
