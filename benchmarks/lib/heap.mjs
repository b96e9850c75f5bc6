// Heap measurements shared by the retained-memory benchmarks (metrics/retained-heap.mjs,
// core-sync.mjs): the same settling, and the same baseline — the LIST's items as a plain client
// keeps them (`JSON.parse(body).items`), with the body text no longer reachable.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

function collector() {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc');
}

/**
 * Bytes in use after full collections until the heap settles (finalizers and weak callbacks run
 * between them): the V8 heap plus ArrayBuffer backing stores, which live outside it (typed arrays
 * the measured code keeps must count as well as its objects).
 */
export async function settledHeap() {
  const gc = collector();
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

// Its own function, so that no frame of the caller keeps the body text: a suspended async
// function's saved registers may hold a dead temporary (the text would count as the items' cost).
async function parsedItems(fetchListText) {
  return JSON.parse(await fetchListText()).items;
}

/**
 * Bytes the LIST's items retain once parsed (`fetchListText`: the LIST body as text), measured as
 * the difference of two settled heaps while the items are alive and the text is not.
 */
export async function parsedListBytes(fetchListText) {
  await parsedItems(fetchListText); // warm: the connection and the code paths are not the items'
  const before = await settledHeap();
  const items = await parsedItems(fetchListText);
  const bytes = (await settledHeap()) - before;
  if (!Array.isArray(items) || items.length === 0) throw new Error('empty list');
  return bytes;
}
