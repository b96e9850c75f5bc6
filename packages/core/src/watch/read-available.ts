import type { Readable } from 'node:stream';

/**
 * Iterates over a body, each step yielding everything buffered at that moment as one Buffer.
 * When the consumer is slower than the network, several network reads coalesce into one step, so
 * a burst of events becomes one batch (one endpoint set) instead of one per TCP read.
 * Ends when the stream ends; throws the stream's error (abort, idle timeout, reset).
 */
export async function* readAvailable(body: Readable): AsyncGenerator<Buffer> {
  let wake: (() => void) | undefined;
  const onChange = () => wake?.();
  // Listening for 'error' for the whole iteration: an error emitted while the consumer is busy
  // must not become an uncaught exception; it is read back from `body.errored`.
  body.on('readable', onChange).on('end', onChange).on('close', onChange).on('error', onChange);
  try {
    for (;;) {
      const chunk = body.read() as Buffer | null;
      if (chunk !== null) {
        yield chunk;
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
    body.off('readable', onChange).off('end', onChange).off('close', onChange).off('error', onChange);
  }
}
