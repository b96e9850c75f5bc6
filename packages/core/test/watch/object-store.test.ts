import { describe, expect, it } from 'vitest';
import type { WatcherEvent } from '../../src/watch/list-watch-machine.js';
import { ObjectStore } from '../../src/watch/object-store.js';
import type { KubeObject } from '../../src/watch/watch-event.js';

const obj = (name: string, rv: string, extra: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv },
  ...extra,
});

describe('ObjectStore', () => {
  it('swaps in a relist only at initDone, never exposing a partial state', () => {
    const store = new ObjectStore();
    expect(store.apply([{ type: 'init' }, { type: 'initApply', object: obj('a', '1') }])).toBeUndefined();
    expect(store.synced).toBe(false);
    const change = store.apply([
      { type: 'initApply', object: obj('b', '2') },
      { type: 'initDone', resourceVersion: '5' },
    ]);
    expect(change).toEqual({
      kind: 'replace',
      objects: [obj('a', '1'), obj('b', '2')],
      resourceVersion: '5',
    });

    // A relist in progress leaves the old state readable.
    store.apply([{ type: 'init' }, { type: 'initApply', object: obj('c', '7') }]);
    expect(store.current()).toMatchObject({ kind: 'replace', objects: [obj('a', '1'), obj('b', '2')] });
    expect(store.apply([{ type: 'initDone', resourceVersion: '8' }])).toEqual({
      kind: 'replace',
      objects: [obj('c', '7')],
      resourceVersion: '8',
    });
  });

  it('reports net changes of a batch: an object updated then deleted is only deleted', () => {
    const store = new ObjectStore();
    store.apply([{ type: 'init' }, { type: 'initDone', resourceVersion: '1' }]);
    const events: WatcherEvent[] = [
      { type: 'apply', object: obj('a', '2'), resourceVersion: '2' },
      { type: 'apply', object: obj('b', '3'), resourceVersion: '3' },
      { type: 'apply', object: obj('a', '4', { x: 1 }), resourceVersion: '4' },
      { type: 'delete', object: obj('b', '5'), resourceVersion: '5' },
    ];
    expect(store.apply(events)).toEqual({
      kind: 'delta',
      upserts: [obj('a', '4', { x: 1 })],
      deletes: [obj('b', '5')],
      resourceVersion: '5',
    });
    expect(store.current()).toEqual({
      kind: 'replace',
      objects: [obj('a', '4', { x: 1 })],
      resourceVersion: '5',
    });
  });

  it('folds events after initDone in the same batch into the replace', () => {
    const store = new ObjectStore();
    const change = store.apply([
      { type: 'init' },
      { type: 'initDone', resourceVersion: '1' },
      { type: 'apply', object: obj('a', '2'), resourceVersion: '2' },
    ]);
    expect(change).toEqual({ kind: 'replace', objects: [obj('a', '2')], resourceVersion: '2' });
  });

  it('keys objects by namespace and name', () => {
    const store = new ObjectStore();
    store.apply([
      { type: 'init' },
      { type: 'initApply', object: { metadata: { name: 'a', namespace: 'x', resourceVersion: '1' } } },
      { type: 'initApply', object: { metadata: { name: 'a', namespace: 'y', resourceVersion: '1' } } },
      { type: 'initDone', resourceVersion: '1' },
    ]);
    expect(store.current()?.kind === 'replace' && store.current()).toMatchObject({ objects: { length: 2 } });
  });
});

describe('ObjectStore robustness', () => {
  it('ignores an initDone that no init started, keeping the state', () => {
    const store = new ObjectStore();
    store.apply([
      { type: 'init' },
      { type: 'initApply', object: obj('a', '1') },
      { type: 'initDone', resourceVersion: '1' },
    ]);
    expect(store.apply([{ type: 'initDone', resourceVersion: '2' }])).toBeUndefined();
    expect(store.current()).toMatchObject({ objects: [obj('a', '1')] });
  });
});
