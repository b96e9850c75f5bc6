#!/usr/bin/env node
/**
 * The `endpoint-watch` executable: runs `main` with the process's streams. The first Ctrl-C
 * (SIGINT) or SIGTERM asks the command to stop cleanly (summary, servers closed); a second one
 * exits at once. A closed stdout (EPIPE) stops it cleanly too.
 */
import { main } from './main.js';
import { stopOnSignals } from './stop-signals.js';

const stop = stopOnSignals(process);
// A reader that went away (`| head`, a `jq` that ended) is no error: stop cleanly, as on Ctrl-C,
// and quietly, since nobody reads what comes next.
const readerGone = new AbortController();
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  readerGone.abort(error);
});
// Never leave a terminal without its cursor, whatever happens.
process.on('exit', () => {
  if (process.stdout.isTTY) process.stdout.write('\u001b[?25h');
});

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: AbortSignal.any([stop.signal, readerGone.signal]),
});
stop.remove();
process.exitCode = code;
// Everything is closed by now and the process ends by itself; should a handle linger, do not hang.
setTimeout(() => {
  process.stderr.write('endpoint-watch: handles still open after shutdown; exiting\n');
  process.exit(code);
}, 3_000).unref();
