import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readAvailable } from '../../src/watch/read-available.js';

describe('readAvailable', () => {
  it('yields what arrived while the consumer was busy as one step, chunks kept as they came', async () => {
    const body = new PassThrough();
    const steps: Buffer[][] = [];
    const a = Buffer.from('a\n');
    const b = Buffer.from('b\n');
    const c = Buffer.from('c\n');
    body.write(a);
    for await (const chunks of readAvailable(body, 1024)) {
      steps.push(chunks);
      if (steps.length === 1) {
        // Busy with the first step: two writes land meanwhile.
        body.write(b);
        body.write(c);
        await new Promise((resolve) => setImmediate(resolve));
        body.end();
      }
    }
    expect(steps.map((chunks) => chunks.map(String))).toEqual([['a\n'], ['b\n', 'c\n']]);
    // Not copied into a new Buffer.
    expect(steps[1]![0]!.buffer).toBe(b.buffer);
  });

  it('wakes a waiting consumer after the I/O phase: chunks of separate callbacks in it are one step', async () => {
    const body = new PassThrough();
    const steps: string[][] = [];
    const consume = (async () => {
      for await (const chunks of readAvailable(body, 1024)) {
        steps.push(chunks.map(String));
        if (steps.flat().includes('b')) body.end();
      }
    })();
    // Two callbacks of one event-loop phase (microtasks run between them), as two socket reads
    // of one poll would be. Immediates queued together always run in the same check phase.
    setImmediate(() => body.write('a'));
    setImmediate(() => body.write('b'));
    await consume;
    expect(steps).toEqual([['a', 'b']]);
  });

  it('pauses the body once the queue holds highWaterMark bytes, and resumes when it is taken', async () => {
    const body = new PassThrough();
    const iterator = readAvailable(body, 4)[Symbol.asyncIterator]();
    const first = iterator.next();
    body.write('12');
    body.write('34');
    expect((await first).value.map(String)).toEqual(['12', '34']);
    body.write('56');
    body.write('78');
    await new Promise((resolve) => setImmediate(resolve));
    expect(body.isPaused()).toBe(true);
    expect((await iterator.next()).value.map(String)).toEqual(['56', '78']);
    expect(body.isPaused()).toBe(false);
    await iterator.return(undefined);
  });

  it('throws the stream error after yielding what arrived before it', async () => {
    const body = new PassThrough();
    const steps: string[] = [];
    body.write('partial');
    const consume = (async () => {
      for await (const chunks of readAvailable(body, 1024)) {
        steps.push(chunks.map(String).join(''));
        body.destroy(new Error('reset'));
      }
    })();
    await expect(consume).rejects.toThrow('reset');
    expect(steps).toEqual(['partial']);
    // The 'error' event comes after the throw; it must not surface as an unhandled error (vitest
    // fails the run on one).
    await new Promise((resolve) => setImmediate(resolve));
    expect(body.listenerCount('data')).toBe(0);
  });
});
