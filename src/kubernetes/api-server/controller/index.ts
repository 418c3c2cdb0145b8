export { Controllers } from './controllers.js';
