/**
 * A demo "pod": a real HTTP server on one loopback address (127.0.0.2, 127.0.0.3, …; Linux routes all
 * of 127.0.0.0/8 to the loopback interface), all on one port like the pods behind a Service.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { Socket } from 'node:net';

export interface PodIdentity {
  readonly name: string;
  readonly address: string;
}

export class PodServer {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** Added before every response (a slow pod). */
  delayMs = 0;
  /** Responses written. */
  served = 0;
  readonly #server: http.Server;
  readonly #sockets: Set<Socket>;
  readonly #timers = new Set<NodeJS.Timeout>();
  #closing = false;
  #closed: Promise<void> | undefined;

  private constructor(identity: PodIdentity, server: http.Server, port: number, sockets: Set<Socket>) {
    this.name = identity.name;
    this.address = identity.address;
    this.#server = server;
    this.port = port;
    this.#sockets = sockets;
  }

  /** Listens on `address:port` (`port` 0: an ephemeral port, the first pod's). */
  static async start(identity: PodIdentity, port: number): Promise<PodServer> {
    if (!identity.address.startsWith('127.'))
      throw new Error(`demo pods only listen on 127.0.0.0/8, not ${identity.address}`);
    let pod: PodServer | undefined;
    const sockets = new Set<Socket>();
    const server = http.createServer((req, res) => pod?.handle(req, res));
    server.keepAliveTimeout = 5_000;
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    server.listen(port, identity.address);
    try {
      await once(server, 'listening');
    } catch (error) {
      if ((error as { code?: unknown }).code === 'EADDRNOTAVAIL') {
        throw new Error(
          `cannot listen on ${identity.address}: the demo's pods use 127.0.0.2, 127.0.0.3, … which Linux routes to ` +
            'the loopback interface; elsewhere add them first (macOS: sudo ifconfig lo0 alias 127.0.0.2 up, and so on)',
          { cause: error },
        );
      }
      throw error;
    }
    const address = server.address();
    pod = new PodServer(
      identity,
      server,
      typeof address === 'object' && address ? address.port : port,
      sockets,
    );
    return pod;
  }

  get listening(): boolean {
    return !this.#closing;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.resume();
    const respond = () => {
      if (res.destroyed) return;
      // A pod shutting down tells clients not to reuse the connection.
      if (this.#closing) res.setHeader('connection', 'close');
      res.setHeader('content-type', 'application/json');
      res.end(`{"pod":"${this.name}","address":"${this.address}"}\n`);
      this.served++;
    };
    if (this.delayMs <= 0) {
      respond();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      respond();
    }, this.delayMs);
    this.#timers.add(timer);
  }

  /**
   * Graceful shutdown, as after SIGTERM: no new connections, the requests in progress finish, then
   * every connection closes. Connections still open after `graceMs` are cut.
   */
  stop(graceMs = 2_000): Promise<void> {
    if (this.#closed) return this.#closed;
    this.#closing = true;
    this.#closed = new Promise<void>((resolve) => {
      const force = setTimeout(() => this.#server.closeAllConnections(), graceMs);
      this.#server.close(() => {
        clearTimeout(force);
        resolve();
      });
      this.#server.closeIdleConnections();
    });
    return this.#closed;
  }

  /** The process dies: every connection is cut at once, requests in progress get no answer. */
  kill(): Promise<void> {
    this.#closing = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const socket of this.#sockets) socket.destroy();
    this.#closed ??= new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    return this.#closed;
  }
}
