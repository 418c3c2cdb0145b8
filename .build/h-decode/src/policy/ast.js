/**
 * The syntax tree of a Datalog program. Plain JSON-serialisable values so that a
 * parsed program can be stored, diffed and shipped between stages.
 */
export {};
//# sourceMappingURL=ast.js.map