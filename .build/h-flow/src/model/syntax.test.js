import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIpv4, parseCidr, parseIpv4 } from './ipv4.js';
import { httpPathProblem, natsSubjectProblem } from './l7-syntax.js';
import { closest } from './suggest.js';
import { parentField } from './field-path.js';
test('IPv4 and CIDR parsing', () => {
    assert.equal(parseIpv4('10.77.0.1'), 0x0a4d0001);
    assert.equal(formatIpv4(0x0a4d0001), '10.77.0.1');
    assert.equal(formatIpv4(0xffffffff), '255.255.255.255');
    for (const bad of ['10.0.0', '10.0.0.256', '010.0.0.1', 'a.b.c.d', '1.2.3.4.5', ''])
        assert.equal(parseIpv4(bad), null, bad);
    assert.deepEqual(parseCidr('10.77.0.0/16'), { ok: true, cidr: { base: 0x0a4d0000, prefix: 16 } });
    for (const bad of ['10.77.0.0', '10.77.0.0/33', '10.77.0.0/x', '10.77.0.1/16', '300.0.0.0/8'])
        assert.equal(parseCidr(bad).ok, false, bad);
});
test('HTTP path patterns', () => {
    for (const good of ['/', '/users', '/users/*/bill', '/static/**', '*', '/a%20b'])
        assert.equal(httpPathProblem(good), null, good);
    for (const bad of ['users', '/a/**/b', '/a*', '/a?b=1', '/a b'])
        assert.notEqual(httpPathProblem(bad), null, bad);
});
test('NATS subjects', () => {
    for (const good of ['a', 'rentals.created', 'rentals.>', '*.x', '>'])
        assert.equal(natsSubjectProblem(good), null, good);
    for (const bad of ['', 'a..b', '.a', 'a.', 'a.>.b', 'a*', 'a b', 'a.b>'])
        assert.notEqual(natsSubjectProblem(bad), null, bad);
});
test('suggestions and field parents', () => {
    assert.equal(closest('protocl', ['name', 'protocol', 'port']), 'protocol');
    assert.equal(closest('zzzz', ['name', 'port']), undefined);
    assert.equal(parentField('services.web.ports[1].port'), 'services.web.ports[1]');
    assert.equal(parentField('services.web.ports[1]'), 'services.web.ports');
    assert.equal(parentField('tenant'), '');
    assert.equal(parentField(''), null);
});
//# sourceMappingURL=syntax.test.js.map