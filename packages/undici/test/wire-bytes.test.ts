import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { BehaviorSubject } from 'rxjs';
import { type Dispatcher, Pool, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createBalancedAgent } from '../src/index.js';
import { endpointSet } from './support.js';

/**
 * What the agent puts on the wire is what undici's own `Pool` puts there for the same request,
 * apart from the Host header (the Service's instead of the endpoint's address): no extra headers,
 * no `connection: close`, no different framing, the same keep-alive connection reused. Checked
 * against a loopback server that records the raw bytes of each connection.
 */

interface Recorder {
  readonly server: Server;
  readonly port: number;
  /** Raw bytes received, one string per connection, in the order connections were accepted. */
  readonly connections: string[];
  close(): Promise<void>;
}

const ANSWER = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\nkeep-alive: timeout=60\r\n\r\nok';

async function startRecorder(): Promise<Recorder> {
  const connections: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const index = connections.push('') - 1;
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      connections[index] += chunk.toString('latin1');
      pending += chunk.toString('latin1');
      // One answer per complete request (headers, then content-length bytes of body).
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(pending.slice(0, end))?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        pending = pending.slice(end + 4 + length);
        socket.write(ANSWER);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    server.close();
    await once(server, 'close');
  };
  return { server, port: (server.address() as { port: number }).port, connections, close };
}

const requests: Array<Partial<Dispatcher.RequestOptions>> = [
  {},
  { method: 'GET', headers: { accept: 'application/json', 'x-trace': 'a' } },
  { method: 'POST', body: '{"n":1}', headers: { 'content-type': 'application/json' } },
  { method: 'PUT', body: Buffer.from('abc'), headers: ['x-many', '1', 'x-many', '2'] },
  { method: 'DELETE' },
];

async function send(dispatcher: Dispatcher, origin: string): Promise<void> {
  for (const [i, options] of requests.entries()) {
    const response = await request(`${origin}/wire/${i}?q=${i}`, { dispatcher, ...options });
    expect(await response.body.text()).toBe('ok');
  }
}

let cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  // Clients first, then the server they were connected to.
  for (const close of cleanup.reverse()) await close();
  cleanup = [];
});

describe('bytes on the wire', () => {
  it('a request through the agent carries the same bytes as through a Pool, apart from Host', async () => {
    const recorder = await startRecorder();
    cleanup.push(() => recorder.close());
    const target = `127.0.0.1:${recorder.port}`;
    const pool = new Pool(`http://${target}`);
    const agent = createBalancedAgent({
      endpoints: new BehaviorSubject(endpointSet(['127.0.0.1'], recorder.port)),
    });
    cleanup.push(
      () => pool.close(),
      () => agent.close(),
    );

    await send(pool, `http://${target}`);
    const service = `web.shop.svc:${recorder.port}`;
    await send(agent, `http://${service}`);

    // Each connection carried one client's requests only (told apart by their Host).
    const throughPool = recorder.connections.filter((bytes) => bytes.includes(`\r\nhost: ${target}\r\n`));
    const throughAgent = recorder.connections.filter((bytes) => bytes.includes(`\r\nhost: ${service}\r\n`));
    expect(throughPool.length + throughAgent.length).toBe(recorder.connections.length);
    // Kept alive: as many connections as the Pool opens (undici alternates between two here).
    expect(throughAgent).toHaveLength(throughPool.length);
    expect(throughPool.join('').split(`\r\nhost: ${target}\r\n`)).toHaveLength(requests.length + 1);
    expect(
      throughAgent.map((bytes) => bytes.replaceAll(`\r\nhost: ${service}\r\n`, `\r\nhost: ${target}\r\n`)),
    ).toEqual(throughPool);
  });
});
