export { main } from './main.js';
export type { CloudEnv } from './attach.js';
