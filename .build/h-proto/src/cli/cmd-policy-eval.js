import { readFileSync } from 'node:fs';
import { diag, FlowtapError } from '../diagnostics/index.js';
import { modelFacts } from '../model/index.js';
import { checkProgram, evaluate, formatFact, parseProgram } from '../policy/index.js';
import { EXIT_OK, EXIT_VIOLATIONS, need } from './exit.js';
import { loadAppArg } from './load.js';
/** Congress convention: tuples of `error` or `violation` are policy violations. */
const VIOLATION_PREDICATES = ['error', 'violation'];
export function cmdPolicyEval(io, file, o) {
    let text;
    try {
        text = readFileSync(file, 'utf8');
    }
    catch (e) {
        throw new FlowtapError(diag('E_NO_FILE', `cannot read ${file}: ${e.message}`, { file }));
    }
    const program = need(checkProgram(need(parseProgram(text, file))));
    let facts = [];
    if (o.facts) {
        const { app, addressing } = loadAppArg(o.facts);
        facts = modelFacts(app, addressing);
    }
    const db = evaluate(program, facts);
    const preds = o.query ? [o.query] : db.predicates().filter((p) => !facts.some((f) => f.pred === p)).sort();
    const result = {};
    for (const p of preds)
        result[p] = db.query(p).map((t) => [...t]).sort(compareTuples);
    if (o.json)
        io.out(JSON.stringify(result, null, 2));
    else
        for (const p of preds)
            for (const t of result[p])
                io.out(formatFact({ pred: p, args: t }));
    const violations = VIOLATION_PREDICATES.some((p) => db.query(p).length > 0);
    return violations ? EXIT_VIOLATIONS : EXIT_OK;
}
function compareTuples(a, b) {
    for (let i = 0; i < a.length; i++) {
        const x = String(a[i]);
        const y = String(b[i]);
        if (x !== y)
            return x < y ? -1 : 1;
    }
    return 0;
}
//# sourceMappingURL=cmd-policy-eval.js.map