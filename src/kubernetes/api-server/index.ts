export { type ApiServer, startApiServer } from './server.js';
