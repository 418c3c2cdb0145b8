export { k8sConnectivity } from './connectivity.js';
