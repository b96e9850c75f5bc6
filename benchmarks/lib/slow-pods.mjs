#!/usr/bin/env node
// Child process: COUNT loopback pods (127.0.0.2 and up, one port); the pod at index SLOW answers
// every request DELAY_MS late, the others at once. Each response names its pod (`x-pod`), so that
// the client counts where its requests went.   node slow-pods.mjs COUNT SLOW DELAY_MS
import { startLoopbackPods } from '@endpoint-watch/testing';
import { serveChild } from './children.mjs';

const [count, slow, delayMs] = process.argv.slice(2).map(Number);
const pods = await startLoopbackPods({
  count,
  handler: (_request, response, pod) => {
    if (pod.requests.length > 1_000) pod.requests.length = 0; // nobody reads them here
    const answer = () => {
      response.setHeader('x-pod', pod.address);
      response.end('{"ok":true}');
    };
    if (pod.address === pods.addresses[slow]) setTimeout(answer, delayMs);
    else answer();
    return true;
  },
});
serveChild({ port: pods.port, addresses: pods.addresses, slow: pods.addresses[slow] });
