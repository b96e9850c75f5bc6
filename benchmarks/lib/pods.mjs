#!/usr/bin/env node
// Child process: COUNT loopback pods (127.0.0.2 and up, one port) answering every request with a
// small JSON body at once.   node pods.mjs COUNT
import { startLoopbackPods } from '@endpoint-watch/testing';
import { serveChild } from './children.mjs';

const body = '{"ok":true}';
const pods = await startLoopbackPods({
  count: Number(process.argv[2] ?? 1),
  handler: (_request, response, pod) => {
    if (pod.requests.length > 1_000) pod.requests.length = 0; // nobody reads them here
    response.setHeader('content-type', 'application/json');
    response.end(body);
    return true;
  },
});
serveChild({ port: pods.port, addresses: pods.addresses });
