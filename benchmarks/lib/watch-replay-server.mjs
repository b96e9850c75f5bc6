#!/usr/bin/env node
// Child process: a loopback HTTP server replaying the watch scenario's pre-serialized bytes, so that
// only the client is measured. LIST answers the list body; a watch gets the MODIFIED events written
// in 64 KiB pieces (as a real apiserver flushes), then stays open (silent) until the client leaves.
//   node watch-replay-server.mjs ENDPOINTS MODIFICATIONS
import { once } from 'node:events';
import { createServer } from 'node:http';
import { serveChild } from './children.mjs';
import { watchScenario } from './watch-scenario.mjs';

const [endpoints, modifications] = process.argv.slice(2).map(Number);
const { listBody, watchBody, facts } = watchScenario({ endpoints, modifications });

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  res.setHeader('content-type', 'application/json');
  if (url.searchParams.get('watch') !== 'true') {
    res.end(listBody);
    return;
  }
  res.writeHead(200);
  for (let offset = 0; offset < watchBody.length; offset += 65_536)
    res.write(watchBody.subarray(offset, offset + 65_536));
  req.on('close', () => res.destroy());
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1');
await once(server, 'listening');
serveChild({
  origin: `http://127.0.0.1:${server.address().port}`,
  listBytes: listBody.length,
  watchBytes: watchBody.length,
  ...facts,
});
