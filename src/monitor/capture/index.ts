export { LinkType, linkTypeName } from './linktype.js';
export type { CapturedPacket, PacketCallback, CaptureFormat, CaptureStats, CaptureSummary } from './captured-packet.js';
export { CaptureReader, readCaptureBuffer, type CaptureReaderOptions } from './capture-reader.js';
export { readPcapFile, type ReadPcapFileOptions } from './read-file.js';
export { liveCapture, type LiveCapture, type LiveCaptureOptions } from './live-capture.js';
export { encodePcap, encodePcapHeader, encodePcapRecordInto, writePcap, type PcapRecord, type PcapWriteOptions } from './pcap-writer.js';
export { encodePcapng, type PcapngInterface, type PcapngPacket, type PcapngSection } from './pcapng-writer.js';
