/**
 * Pods with a real network: one network namespace per pod, joined to a host bridge by a veth pair,
 * with an address from 198.18.0.0/15 (reserved for benchmarking, so nothing real is ever dialed) and a
 * real HTTP server inside. Needs root and iproute2; {@link podNetworkUnavailable} says why not.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { request } from 'undici';
import { reapLater, release } from './reaper.js';

const run = promisify(execFile);

export interface NetworkPod {
  /** The pod's name (its HTTP server answers with it). */
  readonly name: string;
  /** The pod's IPv4 address, reachable from the host. */
  readonly ip: string;
  /** The port its HTTP server listens on. */
  readonly port: number;
  /** The network namespace. */
  readonly netns: string;
  /** Whether its server runs. */
  readonly serving: boolean;
  /** Kills the server: connections are reset and new ones refused, as when a container dies. */
  kill(): Promise<void>;
  /** Starts the server again. */
  start(): Promise<void>;
  /**
   * Cuts the pod off (its host link down): packets to it are dropped and nothing answers, not even
   * a reset, as when its node is lost. Its server keeps running; removing the pod ends it.
   */
  isolate(): Promise<void>;
  /** Requests the server holds now (received, not yet answered) and has answered since it started. */
  stats(): Promise<{ inFlight: number; answered: number }>;
}

export interface PodNetwork {
  /** The host bridge's name. */
  readonly bridge: string;
  /** The bridge's address, the pods' gateway. */
  readonly gateway: string;
  /**
   * Adds a pod (a namespace with a running HTTP server on `port`, default 8080), or with a server of
   * your own (`server`: then `stats()` does not apply).
   */
  addPod(name: string, options?: { port?: number; server?: PodServerCommand }): Promise<NetworkPod>;
  /** Kills a pod's server and deletes its namespace. */
  removePod(pod: NetworkPod): Promise<void>;
  /** Removes every pod and the bridge, waiting until the kernel has removed the host-side links. */
  close(): Promise<void>;
}

/**
 * A server of your own for a pod (a gRPC server, say): `node script ...args`, run in the pod's
 * namespace; it must print `listening` to stdout once it accepts connections.
 */
export interface PodServerCommand {
  readonly script: string;
  readonly args?: readonly string[];
}

/** Why pod namespaces cannot be made here (not root, no `ip`), or undefined when they can. */
export function podNetworkUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'network namespaces need iproute2 (`ip`)';
  }
  return undefined;
}

// Each request is answered with the pod's name; `/delay/<ms>` waits first (a slow pod); `/_stats` tells
// how many requests the server holds and has answered (a test can wait until requests have arrived).
const POD_SERVER = `
const http = require('node:http');
const [name, port] = process.argv.slice(1);
let inFlight = 0;
let answered = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/_stats') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ pod: name, inFlight, answered }));
    return;
  }
  inFlight++;
  const delay = /^\\/delay\\/(\\d+)/.exec(req.url ?? '');
  const answer = () => {
    inFlight--;
    answered++;
    res.setHeader('content-type', 'application/json');
    res.setHeader('x-pod', name);
    res.end(JSON.stringify({ pod: name, method: req.method, url: req.url }));
  };
  req.resume();
  req.on('end', () => (delay ? setTimeout(answer, Math.min(Number(delay[1]), 10000)) : answer()));
});
server.listen(Number(port), '0.0.0.0', () => console.log('listening'));
process.on('SIGTERM', () => process.exit(0));
`;

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`ip ${args.join(' ')}: ${stderr.trim() || (error as Error).message}`);
  }
}

async function linkExists(name: string): Promise<boolean> {
  try {
    await run('ip', ['link', 'show', name]);
    return true;
  } catch {
    return false;
  }
}

async function pickSubnet(): Promise<number> {
  const { stdout } = await run('ip', ['-4', '-o', 'addr', 'show']);
  for (let attempt = 0; attempt < 100; attempt++) {
    const octet = 1 + Math.floor(Math.random() * 250);
    if (!stdout.includes(`198.18.${octet}.`)) return octet;
  }
  throw new Error('no free 198.18.x.0/24 subnet for the pod network');
}

/** A host bridge on a free 198.18.x.0/24, ready for pods. */
export async function startPodNetwork(): Promise<PodNetwork> {
  const reason = podNetworkUnavailable();
  if (reason !== undefined) throw new Error(`cannot start a pod network: ${reason}`);
  const id = randomBytes(2).toString('hex');
  const octet = await pickSubnet();
  const bridge = `ewbr${id}`;
  const gateway = `198.18.${octet}.1`;
  await ip('link', 'add', bridge, 'type', 'bridge');
  reapLater('link', bridge);
  await ip('addr', 'add', `${gateway}/24`, 'dev', bridge);
  await ip('link', 'set', bridge, 'up');

  const pods = new Set<NetworkPod>();
  let next = 2;

  const addPod = async (
    name: string,
    options: { port?: number; server?: PodServerCommand } = {},
  ): Promise<NetworkPod> => {
    if (next > 254) throw new Error('a pod network holds at most 253 pods');
    const index = next++;
    const podIp = `198.18.${octet}.${index}`;
    const port = options.port ?? 8080;
    const netns = `ew${id}-${index}`;
    const hostLink = `ewh${id}-${index}`;
    const podLink = `ewp${id}-${index}`;
    await ip('netns', 'add', netns);
    reapLater('netns', netns);
    await ip('link', 'add', hostLink, 'type', 'veth', 'peer', 'name', podLink);
    reapLater('link', hostLink);
    await ip('link', 'set', podLink, 'netns', netns);
    await ip('link', 'set', hostLink, 'master', bridge);
    await ip('link', 'set', hostLink, 'up');
    await ip('-n', netns, 'addr', 'add', `${podIp}/24`, 'dev', podLink);
    await ip('-n', netns, 'link', 'set', podLink, 'up');
    await ip('-n', netns, 'link', 'set', 'lo', 'up');
    await ip('-n', netns, 'route', 'add', 'default', 'via', gateway);

    let server: ChildProcess | undefined;
    const pod: NetworkPod = {
      name,
      ip: podIp,
      port,
      netns,
      get serving() {
        return server !== undefined && server.exitCode === null && server.signalCode === null;
      },
      async start() {
        if (pod.serving) return;
        const command = options.server
          ? [options.server.script, ...(options.server.args ?? [])]
          : ['-e', POD_SERVER, name, String(port)];
        const child = spawn('ip', ['netns', 'exec', netns, process.execPath, ...command], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        server = child;
        const pid = child.pid;
        if (pid !== undefined) {
          reapLater('pid', pid);
          child.once('exit', () => release('pid', pid));
        }
        const listening = new Promise<void>((resolve, reject) => {
          child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
            if (chunk.includes('listening')) resolve();
          });
          child.once('exit', (code) =>
            reject(new Error(`pod ${name}'s server exited (${code}) before listening`)),
          );
        });
        await listening;
      },
      async stats() {
        const response = await request(`http://${podIp}:${port}/_stats`, {
          headersTimeout: 5_000,
          bodyTimeout: 5_000,
        });
        const { inFlight, answered } = (await response.body.json()) as { inFlight: number; answered: number };
        return { inFlight, answered };
      },
      async isolate() {
        await ip('link', 'set', hostLink, 'down');
      },
      async kill() {
        const child = server;
        if (child === undefined || !pod.serving) return;
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      },
    };
    await pod.start();
    pods.add(pod);
    return pod;
  };

  const removePod = async (pod: NetworkPod): Promise<void> => {
    await pod.kill();
    pods.delete(pod);
    await ip('netns', 'del', pod.netns);
    release('netns', pod.netns);
    const hostLink = pod.netns.replace(/^ew/, 'ewh');
    // The kernel removes the host end of the veth asynchronously after its namespace is gone.
    for (let i = 0; i < 100 && (await linkExists(hostLink)); i++) await new Promise((r) => setTimeout(r, 20));
    release('link', hostLink);
  };

  return {
    bridge,
    gateway,
    addPod,
    removePod,
    async close() {
      for (const pod of [...pods]) await removePod(pod);
      await ip('link', 'del', bridge).catch(() => {});
      release('link', bridge);
    },
  };
}
