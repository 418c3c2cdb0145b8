export { createNatsParser } from './nats-parser.js';
export { DEFAULT_NATS_OPTIONS, NATS_WEIRDS } from './types.js';
export type { NatsConnect, NatsHeader, NatsInfo, NatsMsg, NatsOptions, NatsPub, NatsSink } from './types.js';
export type { Dir, StreamParser } from '../stream/index.js';
