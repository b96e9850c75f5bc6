// A stand-in apiserver for the core benchmarks, run in a child process (`startReplayServer`) so that
// only the client is measured. It replays pre-serialized bytes:
// - LIST (`labelSelector=kubernetes.io/service-name=NAME`): the Service's list body;
// - WATCH with `sendInitialEvents=true`: ADDED per slice and the initial-events-end bookmark;
// - any other WATCH: the Service's `replay` lines (if any), written at once in 64 KiB slices;
// watches then stay open. A `{ change: NAME }` message writes the Service's `change` lines to its
// open watches and answers `{ changed: NAME }`.
// Spec (argv[2], JSON): { services: [{ name, endpoints, seed?, replay?: count, change?: true }] }.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import {
  everyEndpointChanged,
  initialEvents,
  listBody,
  readinessFlips,
  serviceSlices,
} from './scenarios.mjs';

const CHUNK = 65_536;

function write(res, body) {
  for (let offset = 0; offset < body.length; offset += CHUNK)
    res.write(body.subarray(offset, offset + CHUNK));
}

function serve(spec) {
  const services = new Map();
  const meta = {};
  for (const s of spec.services) {
    const { slices, resourceVersion } = serviceSlices(s.name, s.endpoints, s.seed ?? 42);
    const entry = {
      list: listBody(slices, resourceVersion),
      initial: initialEvents(slices, resourceVersion),
      watches: new Set(),
    };
    meta[s.name] = { resourceVersion: String(resourceVersion), listBytes: entry.list.length };
    if (s.replay) {
      const flips = readinessFlips(slices, s.replay, resourceVersion);
      entry.replay = flips.body;
      const { body: _, ...facts } = flips;
      meta[s.name] = { ...meta[s.name], ...facts, replayBytes: flips.body.length };
    }
    if (s.change) {
      const changed = everyEndpointChanged(slices, resourceVersion);
      entry.change = changed.body;
      meta[s.name].changedResourceVersion = changed.resourceVersion;
    }
    services.set(s.name, entry);
  }
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const name = url.searchParams.get('labelSelector')?.split('=')[1];
    const entry = services.get(name);
    res.setHeader('content-type', 'application/json');
    if (entry === undefined) {
      res.statusCode = 404;
      return res.end('{}');
    }
    if (url.searchParams.get('watch') !== 'true') return res.end(entry.list);
    res.writeHead(200);
    if (url.searchParams.get('sendInitialEvents') === 'true') write(res, entry.initial);
    else if (entry.replay) write(res, entry.replay);
    else res.flushHeaders();
    entry.watches.add(res);
    req.on('close', () => {
      entry.watches.delete(res);
      res.destroy();
    });
  });
  process.on('message', (message) => {
    if (message?.change === undefined) return;
    const entry = services.get(message.change);
    // The client opens its watch after the list: wait for it (bounded).
    let tries = 0;
    const send = () => {
      if (entry.watches.size === 0 && ++tries < 500) return setTimeout(send, 10);
      for (const res of entry.watches) write(res, entry.change);
      process.send({ changed: message.change, watches: entry.watches.size });
    };
    send();
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port, meta }));
  process.on('disconnect', () => process.exit(0));
}

/** Starts the server in a child process; resolves to its origin, facts about each Service, and controls. */
export async function startReplayServer(spec) {
  const child = fork(fileURLToPath(import.meta.url), [JSON.stringify(spec)], { stdio: 'inherit' });
  const [ready] = await once(child, 'message');
  return {
    origin: `http://127.0.0.1:${ready.port}`,
    meta: ready.meta,
    /** Writes the Service's change lines to its open watches. */
    async change(service) {
      child.send({ change: service });
      for (;;) {
        const [message] = await once(child, 'message');
        if (message.changed === service) return message.watches;
      }
    },
    async close() {
      child.disconnect();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) serve(JSON.parse(process.argv[2]));
