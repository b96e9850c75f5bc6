import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { endpointSlice } from '@endpoint-watch/testing';
import { filter, firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoreChange } from '../../src/watch/object-store.js';
import { SharedResourceWatch } from '../../src/watch/shared-resource-watch.js';
import { stripManagedFields } from '../../src/watch/transforms.js';
import type { KubeObject } from '../../src/watch/watch-event.js';
import type { WatchHealth } from '../../src/watch/watch-health.js';
import { recorderPool, startCluster, type TestCluster } from '../support/cluster.js';

const PATH = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
const FAST = { backoff: { initialMs: 20, maxMs: 200 }, initialList: 'list' } as const;
const slice = (name: string, ip: string) =>
  endpointSlice({ service: 'web', name, endpoints: [{ addresses: [ip] }] });
const ipOf = (object: KubeObject) =>
  (object as { endpoints: { addresses: string[] }[] }).endpoints[0]?.addresses[0];

let cluster: TestCluster;
const { record, unsubscribeAll } = recorderPool();

afterEach(async () => {
  unsubscribeAll();
  await cluster?.close();
});

describe('SharedResourceWatch transform', () => {
  it('stores transformed objects, each given the version it replaces', async () => {
    cluster = await startCluster({ initialObjects: [slice('a', '10.0.0.1'), slice('b', '10.0.0.2')] });
    const calls: { name: string; ip: string; previousIp: string | undefined }[] = [];
    const shared = new SharedResourceWatch(cluster.client, {
      ...FAST,
      path: PATH,
      transform: (object, previous) => {
        calls.push({
          name: String(object.metadata?.name),
          ip: String(ipOf(object)),
          previousIp: previous && ipOf(previous),
        });
        return stripManagedFields(object);
      },
    });
    const changes = record(shared.changes$);
    const listed = await changes.waitFor((c) => c.kind === 'replace');
    expect(
      listed.kind === 'replace' && listed.objects.every((o) => !('managedFields' in (o.metadata ?? {}))),
    ).toBe(true);
    // Two updates of one object in one socket write: the second sees the first as its previous.
    cluster.server.batch(() => {
      cluster.server.upsert(slice('a', '10.0.0.3'));
      cluster.server.upsert(slice('a', '10.0.0.4'));
    });
    await changes.waitFor((c) => c.kind === 'delta' && c.upserts.some((o) => ipOf(o) === '10.0.0.4'));
    expect(calls).toEqual([
      { name: 'a', ip: '10.0.0.1', previousIp: undefined },
      { name: 'b', ip: '10.0.0.2', previousIp: undefined },
      { name: 'a', ip: '10.0.0.3', previousIp: '10.0.0.1' },
      { name: 'a', ip: '10.0.0.4', previousIp: '10.0.0.3' },
    ]);
  });

  it('on a rejected object, keeps the state, reports the error and relists; the fixed object then comes through', async () => {
    cluster = await startCluster({ initialObjects: [slice('a', '10.0.0.1')] });
    const shared = new SharedResourceWatch(cluster.client, {
      ...FAST,
      path: PATH,
      transform: (object) => {
        if (ipOf(object) === '10.0.0.66') throw new Error('rejected 10.0.0.66');
        return object;
      },
    });
    const changes = record(shared.changes$);
    const health = record(shared.health$);
    await changes.waitFor((c) => c.kind === 'replace');
    cluster.server.upsert(slice('b', '10.0.0.66'));
    const retrying = await health.waitFor((h: WatchHealth) => h.state === 'retrying');
    expect(retrying.state === 'retrying' && String(retrying.error)).toContain('rejected 10.0.0.66');
    // Nothing of the rejected object was taken.
    expect(changes.values.some((c: StoreChange) => c.kind === 'delta')).toBe(false);
    cluster.server.upsert(slice('b', '10.0.0.7'));
    const relisted = await changes.waitFor(
      (c) => c.kind === 'replace' && c.objects.some((o) => ipOf(o) === '10.0.0.7'),
    );
    expect(relisted.kind === 'replace' && relisted.objects.map(ipOf).sort()).toEqual([
      '10.0.0.1',
      '10.0.0.7',
    ]);
    await firstValueFrom(shared.health$.pipe(filter((h) => h.state === 'synced')));
  });
});

/** A full collection, callable from a test (vitest does not start workers with --expose-gc). */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('SharedResourceWatch memory', () => {
  it('keeps no version of an object the watch replaced (the LIST’s objects are not held by the loop)', async () => {
    cluster = await startCluster({ initialObjects: [slice('a', '10.0.0.1')] });
    const versions: WeakRef<KubeObject>[] = [];
    const shared = new SharedResourceWatch(cluster.client, {
      ...FAST,
      path: PATH,
      transform: (object) => {
        // A fresh object per version, so that only what the engine keeps can keep it alive.
        const copy = { ...object };
        versions.push(new WeakRef(copy));
        return copy;
      },
    });
    const changes = record(shared.changes$);
    await changes.waitFor((c) => c.kind === 'replace');
    cluster.server.upsert(slice('a', '10.0.0.2'));
    await changes.waitFor((c) => c.kind === 'delta' && c.upserts.some((o) => ipOf(o) === '10.0.0.2'));
    changes.values.length = 0;
    const gc = collector();
    // A WeakRef read keeps its target alive until the end of that job: each turn starts a new job,
    // collects, then reads (bounded).
    let listed: KubeObject | undefined;
    for (let turn = 0; turn < 20; turn++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      gc();
      listed = versions[0]!.deref();
      if (listed === undefined) break;
    }
    expect(listed).toBeUndefined();
    expect(versions[1]!.deref()).toBeDefined();
  });
});

describe('SharedResourceWatch stats (WatchStats)', () => {
  it('counts each watch line and its bytes, the line that ends a watch too, and a 410 relist', async () => {
    cluster = await startCluster({ initialObjects: [slice('a', '10.0.0.1')] });
    const shared = new SharedResourceWatch(cluster.client, { ...FAST, path: PATH });
    const changes = record(shared.changes$);
    const health = record(shared.health$);
    await changes.waitFor((c) => c.kind === 'replace');
    await health.waitFor((h) => h.state === 'synced');
    // Listed, then a watch with nothing on it yet (no bookmark within the fake's 60 s period).
    expect({ ...shared.stats }).toEqual({ relists: 0, eventsDecoded: 0, bytesDecoded: 0 });
    const updates = [slice('a', '10.0.0.2'), slice('b', '10.0.0.3'), slice('a', '10.0.0.4')];
    for (const update of updates) {
      cluster.server.upsert(update);
      await changes.waitNext((c) => c.kind === 'delta');
    }
    expect(shared.stats.eventsDecoded).toBe(3);
    expect(shared.stats.bytesDecoded).toBeGreaterThan(
      updates.reduce((sum, object) => sum + JSON.stringify(object).length, 0),
    );
    // An in-stream 410: its line ends the watch in the middle of a read, and a relist follows.
    cluster.server.faults.expireWatches();
    await health.waitNext((h) => h.state === 'retrying');
    await health.waitNext((h) => h.state === 'synced');
    expect(shared.stats.eventsDecoded).toBe(4);
    expect(shared.stats.relists).toBe(1);
  });
});
