export { createNatsParser } from './nats-parser.js';
export type { NatsOptions } from './types.js';
