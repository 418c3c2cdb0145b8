import { open, type FileHandle } from 'node:fs/promises';
import { diag } from '../../diagnostics/index.js';
import type { CaptureSummary, PacketCallback } from './captured-packet.js';
import { CaptureReader, type CaptureReaderOptions } from './capture-reader.js';

export interface ReadPcapFileOptions extends CaptureReaderOptions {
  /** Read size (default 1 MiB). */
  chunkSize?: number;
}

/**
 * Stream a pcap or pcapng file through the reader in fixed-size chunks, so files of any
 * size use constant memory. One buffer is reused for every read: packet views are valid only
 * during the callback, and the reader copies a record cut by the chunk edge before `push`
 * returns. An unreadable file is reported as a diagnostic, not thrown.
 */
export async function readPcapFile(path: string, onPacket: PacketCallback, opts: ReadPcapFileOptions = {}): Promise<CaptureSummary> {
  const reader = new CaptureReader(onPacket, { file: path, ...opts });
  const size = opts.chunkSize ?? 1024 * 1024;
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    return {
      stats: reader.end().stats,
      diagnostics: [diag('E_CAPTURE_OPEN', `cannot open capture: ${(e as Error).message}`, { file: path })],
    };
  }
  const buf = new Uint8Array(size);
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, size, null);
      if (bytesRead === 0) break;
      reader.push(bytesRead === size ? buf : buf.subarray(0, bytesRead));
      if (reader.stopped) break;
    }
  } catch (e) {
    reader.error('E_CAPTURE_READ', `reading the capture failed: ${(e as Error).message}`);
  } finally {
    await handle.close();
  }
  return reader.end();
}
