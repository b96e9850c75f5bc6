import type { Readable } from 'node:stream';

/**
 * Iterates over a body, each step yielding everything buffered at that moment as one Buffer.
 * When the consumer is slower than the network, several network reads coalesce into one step, so
 * a burst of events becomes one batch (one endpoint set) instead of one per TCP read.
 * Ends when the stream ends; throws the stream's error (abort, idle timeout, reset).
 */
export async function* readAvailable(body: Readable): AsyncGenerator<Buffer> {
  for (;;) {
    const chunk = body.read() as Buffer | null;
    if (chunk !== null) {
      yield chunk;
      continue;
    }
    if (body.errored) throw body.errored;
    if (body.readableEnded || body.destroyed) return;
    await nextChange(body);
  }
}

function nextChange(body: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error | null) => {
      body.off('readable', onChange);
      body.off('end', onChange);
      body.off('close', onClose);
      body.off('error', onError);
      if (error) reject(error);
      else resolve();
    };
    const onChange = () => settle();
    const onClose = () => settle(body.errored);
    const onError = (error: Error) => settle(error);
    body.on('readable', onChange);
    body.on('end', onChange);
    body.on('close', onClose);
    body.on('error', onError);
  });
}
