export { main } from './main.js';
//# sourceMappingURL=index.js.map