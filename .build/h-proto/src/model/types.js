export const EXTERNAL = 'external';
//# sourceMappingURL=types.js.map