/**
 * The dashboard's files: whatever `web/` holds, and a fixed list of browser libraries from
 * node_modules (the dashboard runs offline: no CDN). A request's path is only ever a key into
 * a map built from the folder's listing or the list below, never joined to a file system path,
 * so no `..`, symlink or encoding trick reaches another file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `/vendor/<name>` -> its file under node_modules: the only vendored files served. */
export const VENDOR_FILES: Readonly<Record<string, string>> = {
  'cytoscape.esm.min.mjs': 'cytoscape/dist/cytoscape.esm.min.mjs',
  'uPlot.esm.js': 'uplot/dist/uPlot.esm.js',
  'uPlot.min.css': 'uplot/dist/uPlot.min.css',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

const MAX_FILE = 20 * 1024 * 1024;
const RESCAN_MS = 1000;

export interface StaticFile {
  body: Uint8Array;
  type: string;
}

/** The node_modules folder above this file (the package's own). */
function defaultNodeModules(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      if (statSync(join(dir, 'node_modules')).isDirectory()) return join(dir, 'node_modules');
    } catch {
      /* keep going up */
    }
    if (dirname(dir) === dir) return join(process.cwd(), 'node_modules');
  }
}

function listing(root: string, dir = root, depth = 0, out = new Map<string, string>()): Map<string, string> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(path);
    } catch {
      continue;
    }
    if (st.isDirectory()) {
      if (depth < 4) listing(root, path, depth + 1, out);
    } else if (st.isFile() && st.size <= MAX_FILE && TYPES[extname(name)]) out.set(`/${relative(root, path).split(sep).join('/')}`, path);
  }
  return out;
}

export class StaticFiles {
  private files = new Map<string, string>();
  private scannedAt = 0;

  constructor(
    private readonly webDir: string | undefined,
    private readonly nodeModules: string = defaultNodeModules(),
  ) {}

  private read(path: string): StaticFile | null {
    try {
      return { body: readFileSync(path), type: TYPES[extname(path)] ?? 'application/octet-stream' };
    } catch {
      return null;
    }
  }

  /** A dashboard file by its URL path (`/` is `/index.html`); the folder is listed again (at most once a second) on a miss. */
  web(urlPath: string): StaticFile | null {
    if (!this.webDir) return null;
    const key = urlPath === '/' ? '/index.html' : urlPath;
    let path = this.files.get(key);
    if (!path && Date.now() - this.scannedAt > RESCAN_MS) {
      this.files = listing(this.webDir);
      this.scannedAt = Date.now();
      path = this.files.get(key);
    }
    return path ? this.read(path) : null;
  }

  vendor(name: string): StaticFile | null {
    const rel = Object.hasOwn(VENDOR_FILES, name) ? VENDOR_FILES[name] : undefined;
    return rel ? this.read(join(this.nodeModules, rel)) : null;
  }
}
