// Servers (apiserver stand-ins, pods) run in child processes, so that the measured process holds
// only the client. Every child is tracked here and killed when the parent exits, is interrupted
// (Ctrl-C, SIGTERM) or fails; a child whose parent vanished (even by SIGKILL) sees its IPC channel
// close and exits on its own (see `serveChild`).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const children = new Set();
let handlersInstalled = false;

// A child of this suite (it has an IPC channel) leaves as soon as its parent is gone, whatever it was
// doing; its own children are killed on the way out ('exit' below).
if (process.send) {
  process.on('disconnect', () => process.exit(0));
  installHandlers();
}

function killAll() {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

function installHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      killAll();
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

/**
 * Forks `script` (a path or file URL) with `args`, waits for its `{ ready }` message (at most
 * `timeoutMs`) and returns `{ info, call, stop }`: `info` is what the child sent, `call(command)`
 * sends a request and resolves with the child's answer, `stop()` kills it.
 */
export async function startChild(script, args = [], { timeoutMs = 60_000, execArgv = [] } = {}) {
  installHandlers();
  const path = script instanceof URL ? fileURLToPath(script) : script;
  const child = fork(path, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  children.add(child);
  const stop = () => {
    children.delete(child);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  let info;
  try {
    info = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${path}: not ready within ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${path} exited (${code}) before it was ready`));
      });
      child.once('message', (message) => {
        clearTimeout(timer);
        resolve(message.ready);
      });
    });
  } catch (error) {
    stop();
    throw error;
  }
  let nextId = 0;
  const pending = new Map();
  child.on('message', (message) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(message.error));
    else waiter.resolve(message.result);
  });
  child.once('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${path} exited (${code})`));
    pending.clear();
  });
  const call = (command, callTimeoutMs = 120_000) =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${path}: no answer to ${command.cmd} within ${callTimeoutMs} ms`));
      }, callTimeoutMs);
      pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      child.send({ id, ...command });
    });
  return { info, call, stop, pid: child.pid };
}

/**
 * The child's side: announces `info` as ready and answers commands with `handlers[cmd](command)`.
 * (A child exits when its parent goes away: see the top of this file.)
 */
export function serveChild(info, handlers = {}) {
  process.on('message', async (message) => {
    const handler = handlers[message.cmd];
    try {
      if (!handler) throw new Error(`unknown command ${message.cmd}`);
      process.send({ id: message.id, result: await handler(message) });
    } catch (error) {
      process.send({ id: message.id, error: String(error?.stack ?? error) });
    }
  });
  process.send({ ready: info });
}
