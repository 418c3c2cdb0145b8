/**
 * Network namespaces by inode: the kernel names a namespace by the inode of its nsfs file,
 * which is what `/run/netns/NAME`, `/proc/PID/ns/net` and eBPF's `net_ns->ns.inum` all show.
 */
import { readFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import type { RunOptions, RunResult, System } from '../system/index.js';

export interface NetnsProbe {
  /** The inode of a named namespace (`ip netns add NAME`), or null when it does not exist. */
  named(name: string): number | null;
  /** The inode of the namespace this process runs in. */
  own(): number | null;
}

const inode = (path: string): number | null => {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
};

export const realNetnsProbe: NetnsProbe = {
  named: (name) => inode(`/run/netns/${name}`),
  own: () => inode('/proc/self/ns/net'),
};

/**
 * How the agent reaches its node's namespace. When it already runs there (as `flowtap agent`
 * started in the node namespace does) commands run directly and /proc/net is read in place:
 * no `ip netns exec` per command, which is most of the cost of a level-1 period.
 */
export interface NodeAccess {
  readonly system: System;
  /** The namespace commands run in; undefined when the agent is in the node's namespace. */
  readonly ns: string | undefined;
  run(argv: string[], opts?: Omit<RunOptions, 'ns'>): Promise<RunResult>;
  /** A file of /proc/net as the node's namespace sees it (nf_conntrack, dev), or null if absent. */
  readProcNet(file: string): Promise<string | null>;
}

export function nodeAccess(system: System, nodeNs: string | undefined, probe: NetnsProbe = realNetnsProbe): NodeAccess {
  const own = probe.own();
  const inside = nodeNs === undefined || (own !== null && probe.named(nodeNs) === own);
  const ns = inside ? undefined : nodeNs;
  return {
    system,
    ns,
    run: (argv, opts = {}) => system.run(argv, { ...opts, ns }),
    readProcNet: async (file) => {
      if (!ns) {
        try {
          return await readFile(`/proc/net/${file}`, 'utf8');
        } catch {
          return null;
        }
      }
      const r = await system.run(['cat', `/proc/net/${file}`], { ns });
      return r.code === 0 ? r.stdout : null;
    },
  };
}
