import { describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/transport/kube-client.js';
import { ListPageReader } from '../../src/watch/list-page-reader.js';
import { readListBody } from '../../src/watch/list-watch.js';

const LIST = Buffer.from(
  JSON.stringify({
    kind: 'EndpointSliceList',
    metadata: { resourceVersion: '7' },
    items: [{ metadata: { name: 'a' } }, { metadata: { name: 'b' } }, { metadata: { name: 'c' } }],
  }),
);

/** A client whose `readBody` hands `chunks` over one by one, each from its own macrotask, then ends. */
function clientSending(chunks: Buffer[], events: string[]): KubeClient {
  return {
    readBody: async (_path: string, _options: unknown, onChunk: (chunk: Buffer) => void) => {
      for (const chunk of chunks) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        events.push('chunk');
        onChunk(chunk);
      }
      events.push('end');
    },
  } as unknown as KubeClient;
}

/** A reader that records when it is fed, and throws on the `failAt`-th chunk. */
class RecordingReader extends ListPageReader {
  fed = 0;
  constructor(
    private readonly events: string[],
    private readonly failAt = 0,
  ) {
    super('/list', undefined);
  }
  override feed(chunk: Uint8Array): void {
    this.fed++;
    this.events.push('feed');
    if (this.fed === this.failAt) throw new Error('reader broke');
    super.feed(chunk);
  }
}

const split = (body: Buffer, size: number) => {
  const chunks: Buffer[] = [];
  for (let at = 0; at < body.length; at += size) chunks.push(body.subarray(at, at + size));
  return chunks;
};

describe('readListBody', () => {
  it('feeds every chunk, in order, while the body still arrives, and all of it before it resolves', async () => {
    const events: string[] = [];
    const chunks = split(LIST, 16);
    const reader = new RecordingReader(events);
    await readListBody(clientSending(chunks, events), '/list', reader, {});
    expect(reader.fed).toBe(chunks.length);
    // Fed between arrivals (each chunk comes in a later macrotask), not all after the end.
    expect(events.indexOf('feed')).toBeLessThan(events.indexOf('end'));
    const page = reader.end();
    expect(page).toMatchObject({ resourceVersion: '7' });
    expect((page as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name)).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  it('a reader that throws in the drain rejects the read once the body has ended, never as an uncaught exception', async () => {
    const events: string[] = [];
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const reader = new RecordingReader(events, 2);
      await expect(readListBody(clientSending(split(LIST, 16), events), '/list', reader, {})).rejects.toThrow(
        'reader broke',
      );
      // Nothing more was fed after the failure.
      expect(reader.fed).toBe(2);
      expect(events.at(-1)).toBe('end');
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
