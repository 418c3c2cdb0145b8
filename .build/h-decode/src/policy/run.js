import { checkProgram } from './check.js';
import { tryEvaluate } from './evaluate.js';
import { parseProgram } from './parser.js';
export function runProgram(text, facts = [], file, opts = {}) {
    const parsed = parseProgram(text, file);
    if (!parsed.ok)
        return parsed;
    const checked = checkProgram(parsed.value);
    if (!checked.ok)
        return checked;
    return tryEvaluate(checked.value, facts, opts);
}
//# sourceMappingURL=run.js.map