import type { Readable } from 'node:stream';

/**
 * Iterates over a body, each step yielding every chunk that arrived since the previous step, as
 * they came (never concatenated: `Readable.read()` would copy them all into one new Buffer). A
 * waiting consumer is woken once the event loop has finished its I/O phase (`setImmediate`), not
 * at the first chunk, so everything the socket had (several TCP reads) is one step; and when the
 * consumer is slower than the network, all that arrived meanwhile is one step. A burst of events
 * thus becomes one batch (one endpoint set) instead of one per TCP read.
 * At most about `highWaterMark` bytes wait in the queue: beyond it the body is paused, which
 * stops reading from the socket (backpressure) until the consumer takes the queue.
 * Ends when the stream ends; throws the stream's error (abort, idle timeout, reset) once the
 * chunks received before it have been yielded.
 */
export async function* readAvailable(body: Readable, highWaterMark: number): AsyncGenerator<Buffer[]> {
  let queue: Buffer[] = [];
  let queuedBytes = 0;
  let wake: (() => void) | undefined;
  let wakeScheduled = false;
  const onChange = () => wake?.();
  const wakeAfterIo = () => {
    wakeScheduled = false;
    wake?.();
  };
  const onData = (chunk: Buffer) => {
    queue.push(chunk);
    queuedBytes += chunk.length;
    if (queuedBytes >= highWaterMark) body.pause();
    if (wake !== undefined && !wakeScheduled) {
      wakeScheduled = true;
      setImmediate(wakeAfterIo);
    }
  };
  // Listening for 'error' for the whole iteration: an error emitted while the consumer is busy
  // must not become an uncaught exception; it is read back from `body.errored`.
  body.on('end', onChange).on('close', onChange).on('error', onChange).on('data', onData);
  try {
    for (;;) {
      if (queue.length > 0) {
        const chunks = queue;
        queue = [];
        queuedBytes = 0;
        if (body.isPaused()) body.resume();
        yield chunks;
        continue;
      }
      if (body.errored) throw body.errored;
      if (body.readableEnded || body.destroyed) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    body.off('data', onData).off('end', onChange).off('close', onChange);
    // A destroyed body may still emit its 'error' (on the next tick): it was already thrown here,
    // so it stays handled instead of becoming an uncaught exception.
    if (!body.destroyed) body.off('error', onChange);
    // Back to paused mode, so that nothing more flows into a listener that is gone.
    body.pause();
  }
}
