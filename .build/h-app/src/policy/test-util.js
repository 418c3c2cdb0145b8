/** Helpers shared by this folder's tests. */
import assert from 'node:assert/strict';
import { formatDiagnostic } from '../diagnostics/index.js';
import { checkProgram } from './check.js';
import { parseProgram } from './parser.js';
import { runProgram } from './run.js';
export function value(r) {
    if (!r.ok)
        assert.fail(`expected success, got:\n${r.errors.map(formatDiagnostic).join('\n')}`);
    return r.value;
}
export function errors(r) {
    if (r.ok)
        assert.fail('expected errors, got success');
    return r.errors;
}
export function checked(text) {
    return value(checkProgram(value(parseProgram(text, 't.dl'))));
}
/** Errors of parse + check, whichever stage fails. */
export function problems(text) {
    const parsed = parseProgram(text, 't.dl');
    if (!parsed.ok)
        return parsed.errors;
    return errors(checkProgram(parsed.value));
}
export function run(text, facts = [], opts = {}) {
    return value(runProgram(text, facts, 't.dl', opts));
}
/** Tuples of a predicate as sorted JSON strings, for order-independent comparison. */
export function rows(db, pred) {
    return db.query(pred).map((t) => JSON.stringify(t)).sort();
}
//# sourceMappingURL=test-util.js.map