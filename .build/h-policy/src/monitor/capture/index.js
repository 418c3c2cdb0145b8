export { LinkType, linkTypeName } from './linktype.js';
export { CaptureReader, readCaptureBuffer } from './capture-reader.js';
export { readPcapFile } from './read-file.js';
export { liveCapture } from './live-capture.js';
export { encodePcap, encodePcapHeader, encodePcapRecordInto, writePcap } from './pcap-writer.js';
export { encodePcapng } from './pcapng-writer.js';
//# sourceMappingURL=index.js.map