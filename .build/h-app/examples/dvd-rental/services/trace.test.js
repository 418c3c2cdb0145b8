import { test } from 'node:test';
import assert from 'node:assert/strict';
import { childSpan, continueTrace, formatTraceparent, newTrace, parseTraceparent } from './trace.js';
const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
test('parses a valid version-00 traceparent', () => {
    const ctx = parseTraceparent(VALID);
    assert.deepEqual(ctx, { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: '01' });
    assert.equal(formatTraceparent(ctx), VALID);
});
test('accepts upper case and a future version with extra fields', () => {
    assert.equal(parseTraceparent(VALID.toUpperCase())?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(parseTraceparent(`01${VALID.slice(2)}-extra`)?.spanId, '00f067aa0ba902b7');
});
test('rejects malformed traceparents', () => {
    const bad = [
        undefined,
        '',
        'garbage',
        `${VALID}-extra`, // version 00 must be exactly 55 chars
        `ff${VALID.slice(2)}`,
        `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
        `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`,
        '00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01',
        '00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0z',
    ];
    for (const header of bad)
        assert.equal(parseTraceparent(header), undefined, String(header));
});
test('child spans keep the trace id and flags but change the span id', () => {
    const root = newTrace();
    assert.match(formatTraceparent(root), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const child = childSpan(root);
    assert.equal(child.traceId, root.traceId);
    assert.equal(child.flags, root.flags);
    assert.notEqual(child.spanId, root.spanId);
});
test('continueTrace keeps a valid incoming trace and restarts an invalid one', () => {
    assert.equal(continueTrace(VALID).traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.notEqual(continueTrace(VALID).spanId, '00f067aa0ba902b7');
    const fresh = continueTrace('nonsense');
    assert.notEqual(fresh.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.ok(parseTraceparent(formatTraceparent(fresh)));
});
//# sourceMappingURL=trace.test.js.map