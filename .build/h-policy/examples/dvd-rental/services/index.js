export { SERVICE_NAMES, isServiceName } from './env.js';
export { callJson, joinUrl, describeBody } from './http-client.js';
export { startService, runService } from './lifecycle.js';
export { createLogger } from './log.js';
export { RENTAL_CREATED, RENTALS_ALL } from './nats.js';
export { RENTAL_PRICE } from './contract-update.js';
export { SERVICES } from './main.js';
export { childSpan, continueTrace, formatTraceparent, newTrace, parseTraceparent } from './trace.js';
//# sourceMappingURL=index.js.map