export { main } from './main.js';
export type { CloudEnv } from './cmd-cloud.js';
