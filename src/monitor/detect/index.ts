export { detectFirstBytes } from './first-bytes.js';
export { ProtocolSniffer } from './protocol-sniffer.js';
export { serviceName, isProtocol, type Detection } from './protocol.js';
