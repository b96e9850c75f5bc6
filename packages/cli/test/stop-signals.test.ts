import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { EXIT_INTERRUPTED, stopOnSignals } from '../src/stop-signals.js';

/** A stand-in for `process`: signals are events, `exit` and stderr are recorded. */
function fakeProcess() {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  let stderr = '';
  const target = {
    on: (event: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void) =>
      emitter.on(event, listener),
    off: (event: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void) =>
      emitter.off(event, listener),
    exit: (code: number) => {
      exits.push(code);
    },
    stderr: {
      write: (chunk: string) => {
        stderr += chunk;
      },
    },
  };
  const send = (signal: NodeJS.Signals) => emitter.emit(signal, signal);
  return { target, send, exits, stderr: () => stderr, listeners: () => emitter.listenerCount('SIGINT') };
}

describe('stopOnSignals', () => {
  it('the first Ctrl-C asks for a clean stop; a second one exits at once with 130', () => {
    const fake = fakeProcess();
    const stop = stopOnSignals(fake.target);
    expect(stop.signal.aborted).toBe(false);
    fake.send('SIGINT');
    expect(stop.signal.aborted).toBe(true);
    expect(fake.exits).toEqual([]);
    fake.send('SIGINT');
    expect(fake.exits).toEqual([EXIT_INTERRUPTED]);
    expect(fake.stderr()).toContain('SIGINT again, exiting without cleanup');
  });

  it('SIGTERM counts too, and removing the handlers leaves the process as it was', () => {
    const fake = fakeProcess();
    const stop = stopOnSignals(fake.target);
    fake.send('SIGTERM');
    expect((stop.signal.reason as Error).message).toBe('received SIGTERM');
    stop.remove();
    expect(fake.listeners()).toBe(0);
    fake.send('SIGTERM');
    expect(fake.exits).toEqual([]);
  });
});
