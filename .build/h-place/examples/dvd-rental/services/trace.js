/**
 * W3C Trace Context (`traceparent`) for the DVD-rental services. Every service keeps the
 * caller's trace id, opens its own span, and hands a fresh child span to each downstream
 * call, so one trace id follows a request across HTTP hops and NATS messages.
 */
import { randomBytes } from 'node:crypto';
const HEX = /^[0-9a-f]+$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
/**
 * Parses a `traceparent` header. Returns undefined for anything malformed, as the spec asks
 * receivers to restart the trace rather than propagate garbage.
 */
export function parseTraceparent(header) {
    if (typeof header !== 'string')
        return undefined;
    const value = header.trim().toLowerCase();
    // Version 00 is exactly 55 characters; a later version may append fields after a '-'.
    if (value.length < 55 || (value.length > 55 && value[55] !== '-'))
        return undefined;
    const version = value.slice(0, 2);
    if (!HEX.test(version) || version === 'ff')
        return undefined;
    if (version === '00' && value.length !== 55)
        return undefined;
    if (value[2] !== '-' || value[35] !== '-' || value[52] !== '-')
        return undefined;
    const traceId = value.slice(3, 35);
    const spanId = value.slice(36, 52);
    const flags = value.slice(53, 55);
    if (!HEX.test(traceId) || traceId === ZERO_TRACE)
        return undefined;
    if (!HEX.test(spanId) || spanId === ZERO_SPAN)
        return undefined;
    if (!HEX.test(flags))
        return undefined;
    return { traceId, spanId, flags };
}
export function formatTraceparent(ctx) {
    return `00-${ctx.traceId}-${ctx.spanId}-${ctx.flags}`;
}
function nonZeroHex(bytes) {
    for (;;) {
        const hex = randomBytes(bytes).toString('hex');
        if (!/^0+$/.test(hex))
            return hex;
    }
}
/** A brand-new sampled trace, for requests that arrive without a valid `traceparent`. */
export function newTrace() {
    return { traceId: nonZeroHex(16), spanId: nonZeroHex(8), flags: '01' };
}
/** A new span inside the same trace. */
export function childSpan(parent) {
    return { traceId: parent.traceId, spanId: nonZeroHex(8), flags: parent.flags };
}
/** The span a receiver works in: a child of the incoming context, or a new trace. */
export function continueTrace(header) {
    const parent = parseTraceparent(header);
    return parent ? childSpan(parent) : newTrace();
}
//# sourceMappingURL=trace.js.map