import { open } from 'node:fs/promises';
import { diag } from '../../diagnostics/index.js';
import { CaptureReader } from './capture-reader.js';
/**
 * Stream a pcap or pcapng file through the reader in fixed-size chunks, so files of any
 * size use constant memory. Two buffers alternate: a packet view handed out from one chunk
 * stays intact while the next chunk is read into the other. An unreadable file is reported
 * as a diagnostic, not thrown.
 */
export async function readPcapFile(path, onPacket, opts = {}) {
    const reader = new CaptureReader(onPacket, { file: path, ...opts });
    const size = opts.chunkSize ?? 1024 * 1024;
    let handle;
    try {
        handle = await open(path, 'r');
    }
    catch (e) {
        return { stats: reader.end().stats, diagnostics: [diag('E_CAPTURE_OPEN', `cannot open capture: ${e.message}`, { file: path })] };
    }
    const buffers = [new Uint8Array(size), new Uint8Array(size)];
    let turn = 0;
    try {
        for (;;) {
            const buf = buffers[turn];
            turn ^= 1;
            const { bytesRead } = await handle.read(buf, 0, size, null);
            if (bytesRead === 0)
                break;
            reader.push(bytesRead === size ? buf : buf.subarray(0, bytesRead));
            if (reader.stopped)
                break;
        }
    }
    catch (e) {
        reader.error('E_CAPTURE_READ', `reading the capture failed: ${e.message}`);
    }
    finally {
        await handle.close();
    }
    return reader.end();
}
//# sourceMappingURL=read-file.js.map