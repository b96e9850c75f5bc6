import { defer, finalize, from, map, Observable, shareReplay, switchMap } from 'rxjs';
import { KubeApiError } from '../transport/kube-api-error.js';
import type { KubeClient } from '../transport/kube-client.js';
import type { ListWatchOptions } from '../watch/list-watch.js';
import type { StoreChange } from '../watch/object-store.js';
import { SharedResourceWatch, type SharedResourceWatchOptions } from '../watch/shared-resource-watch.js';
import type { KubeObject } from '../watch/watch-event.js';
import type { WatchHealth } from '../watch/watch-health.js';
import type { WatchStats } from '../watch/watch-stats.js';
import { ParsedEndpointSlice, parseEndpointSlice, SERVICE_NAME_LABEL } from './endpointslice-parser.js';
import {
  type AddressType,
  EndpointSliceAggregator,
  InvalidObjectError,
  V1EndpointsAggregator,
} from './model.js';
import { type ChangeFeed, NamespaceWatch } from './namespace-watch.js';
import { serviceHealth } from './service-health.js';
import { lookUpServicePort, type ServicePortLookup } from './service-port.js';
import type { EndpointSet } from './types.js';
import { ParsedV1Endpoints, parseV1Endpoints } from './v1-endpoints-parser.js';

/**
 * Which API the endpoints come from. `endpointslices` (discovery.k8s.io/v1, the default),
 * `endpoints` (core/v1, deprecated since 1.33, for old clusters), or `auto`: EndpointSlices when the
 * server serves discovery.k8s.io/v1, else Endpoints.
 */
export type EndpointSource = 'endpointslices' | 'endpoints' | 'auto';

/**
 * Tuning of the underlying list+watch. A watch is shared: the first subscriber's tuning applies (for
 * a namespace watch, that of the first Service it served).
 */
export type EndpointWatchTuning = Omit<ListWatchOptions, 'path' | 'labelSelector' | 'fieldSelector'>;

/**
 * Which watch serves a Service's endpoints:
 * - `service`: its own list+watch, selected by label (`kubernetes.io/service-name`) or by name for
 *   v1 Endpoints: one HTTP/2 stream per Service, receiving only that Service's changes;
 * - `namespace`: one list+watch of every EndpointSlice (or Endpoints) of the namespace, shared by all
 *   the Services of that namespace watched by the client and split per Service (as kube-proxy does):
 *   one stream in all, but the client receives and keeps the whole namespace;
 * - `auto` (default): `service` while fewer than `NAMESPACE_WATCH_THRESHOLD` Services of the
 *   namespace are watched, `namespace` for every new Service from then on (see the constant).
 */
export type WatchScope = 'auto' | 'service' | 'namespace';

/**
 * `scope: 'auto'` serves a new Service from the namespace watch once this many Services of its
 * namespace would be watched, counting it (or as soon as a namespace watch already runs there).
 * Watches already open keep running until their subscribers leave, so a client holds at most 49
 * per-Service streams and one namespace stream per namespace: 50 streams, half of the 100 that
 * kube-apiserver allows per HTTP/2 connection, leaving room for the lists of relists and for other
 * requests on the same connection. Below it, per-Service watches cost no more connections and each
 * receives only its own Service's churn; above it, the namespace's churn is the cheaper price.
 */
export const NAMESPACE_WATCH_THRESHOLD = 50;

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
  /** Which watch serves this Service (default `auto`); see `WatchScope`. */
  readonly scope?: WatchScope;
}

type ConcreteSource = Exclude<EndpointSource, 'auto'>;

interface ClientRegistry {
  /** Per-Service watches by `source\0namespace`, then by Service. */
  readonly watches: Map<string, Map<string, SharedResourceWatch>>;
  /** Namespace watches by `source\0namespace`. */
  readonly namespaces: Map<string, NamespaceWatch>;
  readonly sets: Map<string, Observable<EndpointSet>>;
  /** Service port lookups in flight, by `namespace\0service\0port` (gone once settled). */
  readonly portLookups: Map<string, Promise<ServicePortLookup>>;
  source?: Promise<ConcreteSource>;
}

const registries = new WeakMap<KubeClient, ClientRegistry>();

/**
 * The endpoints of one Service port as an always-current stream of immutable `EndpointSet`s.
 * Emits after the initial sync and after each effective change; a late subscriber gets the
 * current set at once. Transient faults never error the stream (see `watchEndpointsHealth`);
 * it errors only on misuse (a Service with several ports and no `port` chosen).
 * Subscriptions with the same client, namespace, service and source share one HTTP watch; past
 * `NAMESPACE_WATCH_THRESHOLD` Services of a namespace, the Services share one (see `WatchScope`).
 */
export function watchEndpoints(client: KubeClient, options: WatchEndpointsOptions): Observable<EndpointSet> {
  const sets = resolved(client, options, (source, namespace) => {
    const registry = registryOf(client);
    const key = `${source}\0${namespace}\0${options.service}\0${options.port ?? ''}\0${options.addressTypes?.join(',') ?? ''}\0${options.scope ?? 'auto'}`;
    let sets = registry.sets.get(key);
    if (!sets) {
      const created: Observable<EndpointSet> = defer(() => {
        // Subscribed again after its last subscriber left: share it again, unless a newer one is.
        if (!registry.sets.has(key)) registry.sets.set(key, created);
        // Chosen now, not at the call: what runs when it is subscribed decides (see `WatchScope`).
        const feed = feedOf(client, source, namespace, options);
        const port = options.port;
        if (typeof port !== 'number') {
          return endpointSets(feed, () => createAggregator(source, namespace, options));
        }
        // A number is first a Service port, as kube-proxy reads it: slices carry the Service port's
        // name with the target port's number, so follow that name.
        return servicePort(client, namespace, options.service, port).pipe(
          switchMap(({ name }) =>
            endpointSets(feed, () =>
              createAggregator(source, namespace, name === undefined ? options : { ...options, port: name }),
            ),
          ),
        );
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
  if (!sources.has(sets)) {
    sources.set(sets, {
      namespace: options.namespace ?? client.config.namespace,
      service: options.service,
      health$: watchEndpointsHealth(client, options),
    });
  }
  return sets;
}

/** What a stream returned by `watchEndpoints` follows, for consumers handed only the stream. */
export interface EndpointSourceInfo {
  readonly namespace: string;
  readonly service: string;
  /** The health of the watch behind the stream (shares it; subscribing keeps it open). */
  readonly health$: Observable<WatchHealth>;
}

const sources = new WeakMap<Observable<EndpointSet>, EndpointSourceInfo>();

/**
 * The Service and health behind a stream `watchEndpoints` returned, or undefined for any other
 * observable (a piped one too). A balancer handed the stream uses it to name the Service and give
 * the watch's real error (a 403 with the missing grant) as the `cause` of "no endpoints".
 */
export function endpointSourceOf(endpoints: Observable<EndpointSet>): EndpointSourceInfo | undefined {
  return sources.get(endpoints);
}

/**
 * The health of the watch behind `watchEndpoints` with the same options (subscribing keeps it open):
 * the Service's own watch, or the namespace watch that serves it (see `WatchScope`). With a port
 * number that is matched against target ports because the Service cannot be read or has no such
 * port, the first `connecting` or `synced` state says so in its `notice` (once per subscription).
 */
export function watchEndpointsHealth(
  client: KubeClient,
  options: WatchEndpointsOptions,
): Observable<WatchHealth> {
  return watchEndpointsStatus(client, options).pipe(map((status) => status.health));
}

/** @internal A Service watch's health with the counters of the watch behind it (for the metrics). */
export interface EndpointWatchStatus {
  readonly health: WatchHealth;
  readonly stats: WatchStats;
}

/** @internal `watchEndpointsHealth` with the counters of the watch serving the Service. */
export function watchEndpointsStatus(
  client: KubeClient,
  options: WatchEndpointsOptions,
): Observable<EndpointWatchStatus> {
  return resolved(client, options, (source, namespace) => {
    const status = (notice: string | undefined) =>
      defer(() => {
        const feed = feedOf(client, source, namespace, options);
        const health = serviceHealth(feed, absentNotice(source, namespace, options));
        return (notice === undefined ? health : health.pipe(noticeOnce(notice))).pipe(
          map((next): EndpointWatchStatus => ({ health: next, stats: feed.stats })),
        );
      });
    const port = options.port;
    if (typeof port !== 'number') return status(undefined);
    return servicePort(client, namespace, options.service, port).pipe(
      switchMap((lookup) => status(lookup.fallback)),
    );
  });
}

/**
 * The Service's port numbered `port`, read once per start and shared by the streams that start
 * together (the set stream and its health ask at the same moment): see `lookUpServicePort`.
 */
function servicePort(
  client: KubeClient,
  namespace: string,
  service: string,
  port: number,
): Observable<ServicePortLookup> {
  return defer(() => {
    const lookups = registryOf(client).portLookups;
    const key = `${namespace}\0${service}\0${port}`;
    let lookup = lookups.get(key);
    if (!lookup) {
      const started = lookUpServicePort(client, namespace, service, port).finally(() =>
        forget(lookups, key, started),
      );
      lookup = started;
      lookups.set(key, lookup);
    }
    return from(lookup);
  });
}

/**
 * Adds `notice` to the first health state that can carry one (`connecting` or `synced`), so that
 * a condition of the whole stream is told once, not again at every relist.
 */
function noticeOnce(notice: string): (health: Observable<WatchHealth>) => Observable<WatchHealth> {
  return (health) =>
    defer(() => {
      let told = false;
      return health.pipe(
        map((next) => {
          if (told || (next.state !== 'connecting' && next.state !== 'synced')) return next;
          told = true;
          return { ...next, notice: next.notice === undefined ? notice : `${next.notice}; ${notice}` };
        }),
      );
    });
}

/** What a synced watch with no object for the Service says (see `serviceHealth`). */
function absentNotice(source: ConcreteSource, namespace: string, options: WatchEndpointsOptions): string {
  const service = options.service;
  return source === 'endpointslices'
    ? `no EndpointSlice in namespace ${namespace} carries ${SERVICE_NAME_LABEL}=${service}: the Service does not exist (check the name and namespace), has no selector and no slices written for it, or its controller has not written them yet`
    : `no Endpoints object ${namespace}/${service}: the Service does not exist (check the name and namespace) or has no selector`;
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

/**
 * The watch that serves a Service now: its own watch if one runs (unless `namespace` is asked), else
 * the namespace watch when asked, already running, or due by the threshold; else a new own watch.
 */
function feedOf(
  client: KubeClient,
  source: ConcreteSource,
  namespace: string,
  options: WatchEndpointsOptions,
): ChangeFeed {
  const registry = registryOf(client);
  const group = `${source}\0${namespace}`;
  const scope = options.scope ?? 'auto';
  const own = registry.watches.get(group);
  const running = own?.get(options.service);
  if (running && scope !== 'namespace') return running;
  const shared = registry.namespaces.get(group);
  const byNamespace =
    scope === 'namespace' ||
    (scope === 'auto' && (shared !== undefined || (own?.size ?? 0) + 1 >= NAMESPACE_WATCH_THRESHOLD));
  if (byNamespace)
    return (shared ?? namespaceWatch(client, source, namespace, options)).feed(options.service);
  return serviceWatch(client, source, namespace, options);
}

function serviceWatch(
  client: KubeClient,
  source: ConcreteSource,
  namespace: string,
  options: WatchEndpointsOptions,
): SharedResourceWatch {
  const registry = registryOf(client);
  const group = `${source}\0${namespace}`;
  const service = options.service;
  const register = () => {
    let watches = registry.watches.get(group);
    if (!watches) {
      watches = new Map();
      registry.watches.set(group, watches);
    }
    if (!watches.has(service)) watches.set(service, created);
  };
  const created: SharedResourceWatch = new SharedResourceWatch(
    client,
    {
      ...options.watch,
      ...collection(source, namespace),
      ...(source === 'endpointslices'
        ? { labelSelector: `${SERVICE_NAME_LABEL}=${service}` }
        : { fieldSelector: `metadata.name=${service}` }),
    },
    {
      started: register,
      stopped: () => {
        const watches = registry.watches.get(group);
        if (!watches) return;
        forget(watches, service, created);
        if (watches.size === 0) registry.watches.delete(group);
      },
    },
  );
  register();
  return created;
}

function namespaceWatch(
  client: KubeClient,
  source: ConcreteSource,
  namespace: string,
  options: WatchEndpointsOptions,
): NamespaceWatch {
  const registry = registryOf(client);
  const group = `${source}\0${namespace}`;
  const created: NamespaceWatch = new NamespaceWatch(
    client,
    { ...options.watch, ...collection(source, namespace) },
    source === 'endpointslices' ? sliceService : endpointsService,
    {
      started: () => {
        if (!registry.namespaces.has(group)) registry.namespaces.set(group, created);
      },
      stopped: () => forget(registry.namespaces, group, created),
    },
  );
  registry.namespaces.set(group, created);
  return created;
}

/**
 * The namespace's collection for a source, and its transform: the store keeps the parsed form, so
 * the raw objects die young (no managedFields, annotations or unchanged entries retained), and the
 * aggregators of every port share the parse.
 */
function collection(source: ConcreteSource, namespace: string): SharedResourceWatchOptions {
  const ns = encodeURIComponent(namespace);
  return source === 'endpointslices'
    ? {
        transform: (object, previous) =>
          parseEndpointSlice(object, previous instanceof ParsedEndpointSlice ? previous : undefined),
        path: `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
      }
    : {
        transform: (object, previous) =>
          parseV1Endpoints(object, previous instanceof ParsedV1Endpoints ? previous : undefined),
        path: `/api/v1/namespaces/${ns}/endpoints`,
      };
}

/** A slice's Service is its label; a slice without one belongs to none (a label selector would not match it). */
const sliceService = (object: KubeObject): string | undefined =>
  object instanceof ParsedEndpointSlice ? object.serviceName : undefined;
/** A v1 Endpoints object is named after its Service. */
const endpointsService = (object: KubeObject): string | undefined => object.metadata?.name;

/** Removes `key` from a registry if it still names `value` (a newer entry stays). */
function forget<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.get(key) === value) map.delete(key);
}

/**
 * @internal How many shared watches and set streams a client keeps registered (tests and the memory
 * benchmark read it; entries exist only while subscribed, or created and not yet subscribed).
 */
export function registeredCounts(client: KubeClient): {
  watches: number;
  namespaceWatches: number;
  namespaceServices: number;
  sets: number;
} {
  const registry = registries.get(client);
  let watches = 0;
  for (const group of registry?.watches.values() ?? []) watches += group.size;
  let namespaceServices = 0;
  for (const shared of registry?.namespaces.values() ?? []) namespaceServices += shared.followedServices;
  return {
    watches,
    namespaceWatches: registry?.namespaces.size ?? 0,
    namespaceServices,
    sets: registry?.sets.size ?? 0,
  };
}

function registryOf(client: KubeClient): ClientRegistry {
  let registry = registries.get(client);
  if (!registry) {
    registry = { watches: new Map(), namespaces: new Map(), sets: new Map(), portLookups: new Map() };
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
function endpointSets(shared: ChangeFeed, create: () => ChangeAggregator): Observable<EndpointSet> {
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
