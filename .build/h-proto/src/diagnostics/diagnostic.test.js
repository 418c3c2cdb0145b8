import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diag, fail, FlowtapError, formatDiagnostic, ok, unwrap } from './index.js';
test('formats file, line, column and field', () => {
    const d = diag('E_KEY', 'unknown key "prot"', { file: 'app.yaml', line: 4, col: 7, field: 'services.web.ports[0]' });
    assert.equal(formatDiagnostic(d), 'app.yaml:4:7 (services.web.ports[0]): error E_KEY: unknown key "prot"');
});
test('formats a packet number', () => {
    assert.equal(formatDiagnostic(diag('E_TRUNC', 'truncated', { file: 'x.pcap', packet: 12 })), 'x.pcap packet 12: error E_TRUNC: truncated');
});
test('unwrap returns the value or throws every diagnostic', () => {
    assert.equal(unwrap(ok(3)), 3);
    assert.throws(() => unwrap(fail([diag('A', 'a'), diag('B', 'b')])), (e) => e instanceof FlowtapError && e.diagnostics.length === 2);
});
//# sourceMappingURL=diagnostic.test.js.map