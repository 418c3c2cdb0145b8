export type { CapturedPacket, CaptureSummary } from './captured-packet.js';
export { CaptureReader, readCaptureBuffer } from './capture-reader.js';
export { readPcapFile } from './read-file.js';
export { liveCapture, type LiveCaptureStats } from './live-capture.js';
export { liveCaptures } from './multi-capture.js';
export { encodePcap, encodePcapHeader, encodePcapRecordInto, writePcap, type PcapRecord } from './pcap-writer.js';
