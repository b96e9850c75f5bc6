import type { KubeObject } from './watch-event.js';

/**
 * Rewrites an object before it is stored (client-go's informer `TransformFunc`). `previous` is the
 * transformed version it replaces, if any, so that a transform can share what did not change. A
 * transform that throws rejects the object (see `SharedResourceWatchOptions.transform`).
 */
export type ObjectTransform = (object: KubeObject, previous: KubeObject | undefined) => KubeObject;

/**
 * Drops `metadata.managedFields`: server-side-apply bookkeeping that is often a third of an
 * EndpointSlice and that no consumer of endpoints reads (client-go's `TransformStripManagedFields`).
 * Less retained memory also means less garbage-collection work per update.
 */
export function stripManagedFields(object: KubeObject): KubeObject {
  const metadata = object.metadata;
  if (metadata?.managedFields === undefined) return object;
  const { managedFields: _dropped, ...kept } = metadata;
  return { ...object, metadata: kept };
}
