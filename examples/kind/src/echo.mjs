#!/usr/bin/env node
// The backend of the kind demo: answers every request with the name and IP of the pod that served it.
// No dependencies. In the cluster POD_NAME / POD_IP come from the downward API; PORT defaults to 8080.
import { once } from 'node:events';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

/** Starts the echo server; resolves once it listens. `close()` stops it and drops idle keep-alive sockets. */
export async function startEcho({ host = '0.0.0.0', port = 8080, podName, podIp } = {}) {
  let ready = true;
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      // The readinessProbe: failing it while shutting down takes the pod out of the endpoints early.
      res.writeHead(ready ? 200 : 503).end(ready ? 'ok' : 'shutting down');
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({ pod: podName ?? req.socket.localAddress, ip: podIp ?? req.socket.localAddress }),
    );
  });
  server.listen(port, host);
  await once(server, 'listening');
  return {
    port: server.address().port,
    /** Fails the readiness probe at once, keeps serving `drainMs`, then stops accepting connections. */
    async close({ drainMs = 0 } = {}) {
      ready = false;
      await new Promise((resolve) => setTimeout(resolve, drainMs));
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { env } = process;
  const echo = await startEcho({ port: Number(env.PORT ?? 8080), podName: env.POD_NAME, podIp: env.POD_IP });
  console.log(`echo ${env.POD_NAME ?? ''} listening on :${echo.port}`);
  process.once('SIGTERM', async () => {
    // Keep serving a little while the endpoint controller and the clients' watches catch up.
    const drainMs = Number(env.SHUTDOWN_DELAY_MS ?? 3000);
    console.log(`SIGTERM: draining for ${drainMs} ms`);
    await echo.close({ drainMs });
    process.exit(0);
  });
}
