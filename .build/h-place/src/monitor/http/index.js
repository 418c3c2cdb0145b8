export { createHttpParser } from './http-parser.js';
export { DEFAULT_HTTP_OPTIONS, HTTP_WEIRDS } from './types.js';
//# sourceMappingURL=index.js.map