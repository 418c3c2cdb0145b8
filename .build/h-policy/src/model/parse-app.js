import { LineCounter, parseDocument } from 'yaml';
import { diag, fail, ok } from '../diagnostics/index.js';
import { buildApp } from './build-app.js';
import { checkApp, sortByPosition } from './check-app.js';
import { ModelCode } from './codes.js';
import { yamlLocator } from './locator.js';
import { placeInstances } from './placement.js';
import { yamlGuards } from './yaml-guards.js';
/** Aliases expand on conversion; this caps "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;
/**
 * Parses and validates a descriptor. On failure returns every problem found,
 * each with file, line, column and field. Phases: YAML syntax; structure
 * (entry by entry); meaning (names, references, ranges, address space).
 */
export function parseApp(text, file) {
    const lines = new LineCounter();
    let doc;
    try {
        doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, keepSourceTokens: false });
    }
    catch (e) {
        // The parser is tolerant, but hostile input (deep nesting) can still exhaust the stack.
        return fail(diag(ModelCode.YAML_SYNTAX, `cannot parse YAML: ${e.message}`, { file, line: 1, col: 1 }));
    }
    const syntax = [...doc.errors, ...doc.warnings].map((e) => yamlDiagnostic(e, lines, file));
    if (syntax.length)
        return fail(sortByPosition(syntax));
    const guards = yamlGuards(doc, lines, file);
    if (guards.length)
        return fail(guards);
    if (doc.contents === null) {
        return fail(diag(ModelCode.TYPE, 'the descriptor is empty: expected a mapping with tenant, app, nodes and services', { file, line: 1, col: 1 }));
    }
    let raw;
    try {
        raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    }
    catch (e) {
        return fail(diag(ModelCode.YAML_SYNTAX, `cannot expand YAML: ${e.message}`, { file, line: 1, col: 1 }));
    }
    const locate = yamlLocator(doc, lines, file);
    const built = buildApp(raw, file, locate);
    const errors = [...built.errors, ...checkApp(built.app, { locate, damaged: built.damaged })];
    if (errors.length)
        return fail(sortByPosition(errors));
    built.app.instances = placeInstances(built.app);
    return ok(built.app);
}
function yamlDiagnostic(e, lines, file) {
    const p = lines.linePos(e.pos[0]);
    const code = e.code === 'DUPLICATE_KEY' ? ModelCode.DUPLICATE_KEY : ModelCode.YAML_SYNTAX;
    const message = e.code === 'DUPLICATE_KEY' ? `${e.message}: this key appears earlier in the same mapping` : `${e.message.split('\n')[0]} (${e.code})`;
    return diag(code, message, { file, line: p.line, col: p.col });
}
//# sourceMappingURL=parse-app.js.map