#!/usr/bin/env node
// The Greeter server, as a pod would run it: answers with the pod's name so the client can count.
//
//   node server.mjs [--host 0.0.0.0] [--port 50051] [--pod $POD_NAME]
import { hostname } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { greeterService } from './greeter.mjs';

/** Starts a Greeter on `host:port` (port 0: any); resolves with the server and the bound port. */
export async function startGreeter({ host = '0.0.0.0', port = 50051, pod = hostname() } = {}) {
  const server = new grpc.Server();
  let served = 0;
  server.addService(greeterService, {
    sayHello: (call, callback) => {
      served += 1;
      callback(null, { message: `hello ${call.request.name}`, pod });
    },
    sayHellos: (call) => {
      served += 1;
      const times = Math.min(Number(call.request.times) || 1, 100);
      for (let i = 0; i < times; i++) call.write({ message: `hello ${call.request.name} #${i}`, pod });
      call.end();
    },
  });
  const bound = await new Promise((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    ),
  );
  return { server, port: bound, pod, served: () => served, close: () => server.forceShutdown() };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: { host: { type: 'string' }, port: { type: 'string' }, pod: { type: 'string' } },
  });
  const greeter = await startGreeter({
    host: values.host,
    port: values.port === undefined ? undefined : Number(values.port),
    pod: values.pod ?? process.env.POD_NAME,
  });
  console.log(`Greeter ${greeter.pod} listening on ${values.host ?? '0.0.0.0'}:${greeter.port}`);
  const stop = () => greeter.server.tryShutdown(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
