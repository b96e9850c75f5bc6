import { defer, finalize, from, Observable, shareReplay, switchMap } from 'rxjs';
import { KubeApiError } from '../transport/kube-api-error.js';
import type { KubeClient } from '../transport/kube-client.js';
import type { ListWatchOptions } from '../watch/list-watch.js';
import type { StoreChange } from '../watch/object-store.js';
import { SharedResourceWatch } from '../watch/shared-resource-watch.js';
import type { WatchHealth } from '../watch/watch-health.js';
import { ParsedEndpointSlice, parseEndpointSlice } from './endpointslice-parser.js';
import {
  type AddressType,
  EndpointSliceAggregator,
  InvalidObjectError,
  V1EndpointsAggregator,
} from './model.js';
import type { EndpointSet } from './types.js';
import { ParsedV1Endpoints, parseV1Endpoints } from './v1-endpoints-parser.js';

/**
 * Which API the endpoints come from. `endpointslices` (discovery.k8s.io/v1, the default),
 * `endpoints` (core/v1, deprecated since 1.33, for old clusters), or `auto`: EndpointSlices when the
 * server serves discovery.k8s.io/v1, else Endpoints.
 */
export type EndpointSource = 'endpointslices' | 'endpoints' | 'auto';

/** Tuning of the underlying list+watch. A watch is shared: the first subscriber's tuning applies. */
export type EndpointWatchTuning = Omit<ListWatchOptions, 'path' | 'labelSelector' | 'fieldSelector'>;

export interface WatchEndpointsOptions {
  readonly service: string;
  /** Default: the client's namespace (kubeconfig context, in-cluster namespace, or `default`). */
  readonly namespace?: string;
  /** Port name, or port number. Optional when the Service has a single port. */
  readonly port?: string | number;
  readonly source?: EndpointSource;
  /** Keep only these address families (dual-stack Services list both by default). */
  readonly addressTypes?: readonly AddressType[];
  readonly watch?: EndpointWatchTuning;
}

type ConcreteSource = Exclude<EndpointSource, 'auto'>;

interface ClientRegistry {
  readonly watches: Map<string, SharedResourceWatch>;
  readonly sets: Map<string, Observable<EndpointSet>>;
  source?: Promise<ConcreteSource>;
}

const registries = new WeakMap<KubeClient, ClientRegistry>();

/**
 * The endpoints of one Service port as an always-current stream of immutable `EndpointSet`s.
 * Emits after the initial sync and after each effective change; a late subscriber gets the
 * current set at once. Transient faults never error the stream (see `watchEndpointsHealth`);
 * it errors only on misuse (a Service with several ports and no `port` chosen).
 * Subscriptions with the same client, namespace, service and source share one HTTP watch.
 */
export function watchEndpoints(client: KubeClient, options: WatchEndpointsOptions): Observable<EndpointSet> {
  return resolved(client, options, (source, namespace) => {
    const registry = registryOf(client);
    const key = `${source}\0${namespace}\0${options.service}\0${options.port ?? ''}\0${options.addressTypes?.join(',') ?? ''}`;
    let sets = registry.sets.get(key);
    if (!sets) {
      const shared = sharedWatch(client, source, namespace, options);
      const created: Observable<EndpointSet> = defer(() => {
        // Subscribed again after its last subscriber left: share it again, unless a newer one is.
        if (!registry.sets.has(key)) registry.sets.set(key, created);
        return endpointSets(shared, () => createAggregator(source, namespace, options));
      }).pipe(
        // The last subscriber left: forget it, so a client that watched 10,000 Services over its
        // life keeps nothing for those it no longer watches.
        finalize(() => forget(registry.sets, key, created)),
        shareReplay({ bufferSize: 1, refCount: true }),
      );
      sets = created;
      registry.sets.set(key, sets);
    }
    return sets;
  });
}

/** The health of the watch behind `watchEndpoints` with the same options (subscribing keeps it open). */
export function watchEndpointsHealth(
  client: KubeClient,
  options: WatchEndpointsOptions,
): Observable<WatchHealth> {
  return resolved(
    client,
    options,
    (source, namespace) => sharedWatch(client, source, namespace, options).health$,
  );
}

function resolved<T>(
  client: KubeClient,
  options: WatchEndpointsOptions,
  use: (source: ConcreteSource, namespace: string) => Observable<T>,
): Observable<T> {
  const namespace = options.namespace ?? client.config.namespace;
  const source = options.source ?? 'endpointslices';
  if (source !== 'auto') return use(source, namespace);
  return defer(() => from(detectSource(client))).pipe(switchMap((detected) => use(detected, namespace)));
}

/** `auto`: EndpointSlices unless the server does not serve discovery.k8s.io/v1 (404). Asked once per client. */
function detectSource(client: KubeClient): Promise<ConcreteSource> {
  const registry = registryOf(client);
  registry.source ??= client.getJson('/apis/discovery.k8s.io/v1').then(
    () => 'endpointslices' as const,
    (error: unknown) => {
      registry.source = undefined;
      return error instanceof KubeApiError && error.statusCode === 404 ? 'endpoints' : 'endpointslices';
    },
  );
  return registry.source;
}

function sharedWatch(
  client: KubeClient,
  source: ConcreteSource,
  namespace: string,
  options: WatchEndpointsOptions,
): SharedResourceWatch {
  const registry = registryOf(client);
  const key = `${source}\0${namespace}\0${options.service}`;
  let shared = registry.watches.get(key);
  if (!shared) {
    const ns = encodeURIComponent(namespace);
    // The store keeps the parsed form: the raw objects die young (no managedFields, annotations or
    // unchanged entries retained), and the aggregators of every port share the parse.
    const created: SharedResourceWatch = new SharedResourceWatch(
      client,
      source === 'endpointslices'
        ? {
            ...options.watch,
            transform: (object, previous) =>
              parseEndpointSlice(object, previous instanceof ParsedEndpointSlice ? previous : undefined),
            path: `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
            labelSelector: `kubernetes.io/service-name=${options.service}`,
          }
        : {
            ...options.watch,
            transform: (object, previous) =>
              parseV1Endpoints(object, previous instanceof ParsedV1Endpoints ? previous : undefined),
            path: `/api/v1/namespaces/${ns}/endpoints`,
            fieldSelector: `metadata.name=${options.service}`,
          },
      {
        started: () => {
          if (!registry.watches.has(key)) registry.watches.set(key, created);
        },
        stopped: () => forget(registry.watches, key, created),
      },
    );
    shared = created;
    registry.watches.set(key, shared);
  }
  return shared;
}

/** Removes `key` from a registry if it still names `value` (a newer entry stays). */
function forget<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.get(key) === value) map.delete(key);
}

/**
 * @internal How many shared watches and set streams a client keeps registered (tests and the memory
 * benchmark read it; entries exist only while subscribed, or created and not yet subscribed).
 */
export function registeredCounts(client: KubeClient): { watches: number; sets: number } {
  const registry = registries.get(client);
  return { watches: registry?.watches.size ?? 0, sets: registry?.sets.size ?? 0 };
}

function registryOf(client: KubeClient): ClientRegistry {
  let registry = registries.get(client);
  if (!registry) {
    registry = { watches: new Map(), sets: new Map() };
    registries.set(client, registry);
  }
  return registry;
}

/** Applies store changes to one of the two pure aggregators. */
interface ChangeAggregator {
  apply(change: StoreChange): void;
  snapshot(resourceVersion: string): EndpointSet | undefined;
}

function createAggregator(
  source: ConcreteSource,
  namespace: string,
  options: WatchEndpointsOptions,
): ChangeAggregator {
  const spec = {
    namespace,
    service: options.service,
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.addressTypes === undefined ? {} : { addressTypes: options.addressTypes }),
  };
  if (source === 'endpointslices') {
    const slices = new EndpointSliceAggregator(spec);
    return {
      apply(change) {
        if (change.kind === 'replace') return slices.reset(change.objects);
        for (const object of change.deletes) slices.remove(object);
        for (const object of change.upserts) slices.upsert(object);
      },
      snapshot: (resourceVersion) => slices.snapshot(resourceVersion),
    };
  }
  const endpoints = new V1EndpointsAggregator(spec);
  return {
    apply(change) {
      const latest = change.kind === 'replace' ? change.objects.at(-1) : change.upserts.at(-1);
      if (latest) endpoints.set(latest);
      else if (change.kind === 'replace' || change.deletes.length > 0) endpoints.clear();
    },
    snapshot: (resourceVersion) => endpoints.snapshot(resourceVersion),
  };
}

/**
 * Folds the shared watch's changes into endpoint sets for one port. An object the model cannot
 * read (`InvalidObjectError`) is never skipped: the last good set stays, and the watch starts over
 * with a fresh list after backoff (the health stream shows the error meanwhile).
 */
function endpointSets(shared: SharedResourceWatch, create: () => ChangeAggregator): Observable<EndpointSet> {
  return new Observable<EndpointSet>((subscriber) => {
    const aggregator = create();
    return shared.changes$.subscribe({
      next(change) {
        try {
          aggregator.apply(change);
          const set = aggregator.snapshot(change.resourceVersion);
          if (set) subscriber.next(set);
        } catch (error) {
          if (error instanceof InvalidObjectError) shared.resync(error);
          else subscriber.error(error);
        }
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => subscriber.complete(),
    });
  });
}
