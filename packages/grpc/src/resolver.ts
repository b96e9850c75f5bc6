/**
 * The grpc-js resolver for `kubernetes:` targets: the I/O shell around `resolution.ts`. It follows
 * `watchEndpoints` (so a channel, an undici agent and an axios instance of the same client and
 * Service share one apiserver watch through core's registry) and turns each set into grpc-js
 * endpoints. grpc-js makes one resolver per channel; it subscribes when the channel first asks for
 * a resolution and unsubscribes in `destroy()` (channel close, or the channel going idle).
 */

import {
  type EndpointSet,
  endpointSourceOf,
  type KubeClient,
  type WatchEndpointsOptions,
  type WatchHealth,
  watchEndpoints,
  watchEndpointsHealth,
} from '@endpoint-watch/core';
import type { ChannelOptions, ServiceConfig } from '@grpc/grpc-js';
import { experimental } from '@grpc/grpc-js';
import { asapScheduler, map, merge, observeOn, type Subscription } from 'rxjs';
import { GrpcBalancingOptionsError } from './errors.js';
import { ATTRIBUTE_PREFIX, type ResolutionSink, resolutionSink } from './grpc-js-api.js';
import { LEAST_REQUEST_POLICY, registerLeastRequestPolicy } from './least-request.js';
import {
  type EndpointLocality,
  endpointsUpdate,
  healthUpdate,
  type ResolutionUpdate,
  streamErrorUpdate,
} from './resolution.js';
import { defaultAuthority, describeTarget, type KubernetesTarget, parseKubernetesTarget } from './target.js';

/**
 * The resolver attribute carrying each address' zone and node (`ReadonlyMap<'host:port',
 * EndpointLocality>`). grpc-js endpoints have no attributes of their own; resolver attributes
 * reach every load-balancing policy: in its channel options from 1.13 on, as the third argument of
 * `updateAddressList` in 1.10–1.12. The key's prefix keeps it out of the subchannel arguments, so
 * a change of zones never makes grpc-js open new connections.
 */
export const LOCALITY_ATTRIBUTE = `${ATTRIBUTE_PREFIX}.endpoint_watch.locality`;

/**
 * The zone and node of an address, from the options a load-balancing policy was given (grpc-js
 * 1.13+), or the resolver attributes (the third argument of `updateAddressList` in 1.10–1.12).
 */
export function endpointLocality(
  options: ChannelOptions,
  address: experimental.SubchannelAddress,
): EndpointLocality | undefined {
  const locality = (options as Record<string, unknown>)[LOCALITY_ATTRIBUTE];
  if (!(locality instanceof Map)) return undefined;
  return locality.get(experimental.subchannelAddressToString(address)) as EndpointLocality | undefined;
}

export interface KubernetesResolverOptions {
  /** The URI scheme to register (default `kubernetes`). One scheme per client: see the README. */
  readonly scheme?: string;
  /**
   * The service config the resolver gives channels that have no `grpc.service_config` of their own:
   * `least_request` (default: this package's least-request policy), or `channel` (none: grpc-js'
   * default, pick_first, unless the channel's options say otherwise).
   */
  readonly loadBalancing?: 'least_request' | 'channel';
  /** Passed to `watchEndpoints` for every target (source, address families, watch tuning, scope). */
  readonly watch?: Omit<WatchEndpointsOptions, 'service' | 'namespace' | 'port'>;
}

export interface KubernetesResolverRegistration {
  readonly scheme: string;
  /** `scheme:///service.namespace:port`, ready to pass to a grpc-js client. */
  target(service: string, namespace?: string, port?: string | number): string;
}

const SCHEME = /^[a-z][a-z0-9+.-]*$/;

/**
 * Registers the resolver of `scheme` (default `kubernetes`) in grpc-js, backed by `client`, and the
 * least-request policy. Call once at start-up, before creating channels; registering a scheme again
 * replaces its client for channels created afterwards. The client stays yours to close (after the
 * channels that use it).
 */
export function registerKubernetesResolver(
  client: KubeClient,
  options: KubernetesResolverOptions = {},
): KubernetesResolverRegistration {
  const scheme = options.scheme ?? 'kubernetes';
  if (!SCHEME.test(scheme)) throw new GrpcBalancingOptionsError(`scheme "${scheme}" is not a URI scheme`);
  registerLeastRequestPolicy();
  const serviceConfig = options.loadBalancing === 'channel' ? null : leastRequestConfig;

  class KubernetesResolver implements experimental.Resolver {
    readonly #target: KubernetesTarget;
    readonly #sink: ResolutionSink;
    readonly #serviceConfig: ServiceConfig | null;
    readonly #service: string;
    #subscription: Subscription | undefined;
    #everHadSet = false;
    #health: WatchHealth | undefined;
    /** The last set while it is empty: its note may change with the health (an absent Service). */
    #emptySet: EndpointSet | undefined;
    #note = '';

    constructor(
      target: experimental.GrpcUri,
      listener: experimental.ResolverListener,
      channel: ChannelOptions,
    ) {
      this.#target = parseKubernetesTarget(target);
      this.#sink = resolutionSink(listener);
      this.#service = describeTarget(this.#target, client.config.namespace);
      // The channel's own service config wins: the resolver's would override it in grpc-js.
      this.#serviceConfig =
        serviceConfig === null || channel['grpc.service_config'] !== undefined ? null : serviceConfig;
    }

    static getDefaultAuthority(target: experimental.GrpcUri): string {
      return defaultAuthority(parseKubernetesTarget(target), client.config.namespace);
    }

    updateResolution(): void {
      // A watch pushes every change: while subscribed there is nothing to fetch again.
      if (this.#subscription && !this.#subscription.closed) return;
      const watchOptions: WatchEndpointsOptions = {
        ...options.watch,
        service: this.#target.service,
        ...(this.#target.namespace === undefined ? {} : { namespace: this.#target.namespace }),
        ...(this.#target.port === undefined ? {} : { port: this.#target.port }),
      };
      const sets = watchEndpoints(client, watchOptions);
      const health$ = endpointSourceOf(sets)?.health$ ?? watchEndpointsHealth(client, watchOptions);
      this.#subscription = merge(
        sets.pipe(map((set) => ({ set }) as const)),
        health$.pipe(map((health) => ({ health }) as const)),
      )
        // grpc-js forbids calling the listener synchronously within updateResolution, and a shared
        // watch replays its current set at once.
        .pipe(observeOn(asapScheduler))
        .subscribe({
          next: (event) => ('set' in event ? this.#onSet(event.set) : this.#onHealth(event.health)),
          error: (error: unknown) => this.#report(streamErrorUpdate(error, this.#service)),
        });
    }

    destroy(): void {
      this.#subscription?.unsubscribe();
      this.#subscription = undefined;
      // The channel's policy is gone with it: the next resolution starts from nothing.
      this.#everHadSet = false;
      this.#health = undefined;
      this.#emptySet = undefined;
    }

    #onSet(set: EndpointSet): void {
      this.#everHadSet = true;
      this.#emptySet = set.endpoints.length === 0 ? set : undefined;
      this.#report(endpointsUpdate(set, this.#health));
    }

    #onHealth(health: WatchHealth): void {
      this.#health = health;
      const update = healthUpdate(health, this.#everHadSet, this.#service);
      if (update) this.#report(update);
      else if (this.#emptySet) {
        // The set came before the health that explains it (no EndpointSlice at all): say it now.
        const explained = endpointsUpdate(this.#emptySet, health);
        if (explained.kind === 'endpoints' && explained.note !== this.#note) this.#report(explained);
      }
    }

    #report(update: ResolutionUpdate): void {
      if (update.kind === 'error') {
        this.#sink({ ok: false, details: update.details }, this.#serviceConfig, update.details);
        return;
      }
      this.#note = update.note;
      this.#sink(
        {
          ok: true,
          endpoints: update.addresses.map((address) => ({ addresses: [address] })),
          attributes: { [LOCALITY_ATTRIBUTE]: update.locality },
        },
        this.#serviceConfig,
        update.note,
      );
      // An empty list alone leaves grpc-js' round_robin IDLE with a queueing picker: calls would
      // wait for their deadline. Said again as an error, every policy, now without children, fails
      // calls at once with the note (an error keeps children, so it never comes alone). Before
      // 1.14 grpc-js applies a resolver error only while the policy is IDLE, so the same works.
      if (update.addresses.length === 0)
        this.#sink({ ok: false, details: update.note }, this.#serviceConfig, update.note);
    }
  }

  experimental.registerResolver(scheme, KubernetesResolver);
  return {
    scheme,
    target: (service, namespace, port) =>
      `${scheme}:///${service}${namespace === undefined ? '' : `.${namespace}`}${port === undefined ? '' : `:${port}`}`,
  };
}

const leastRequestConfig: ServiceConfig = {
  loadBalancingConfig: [{ [LEAST_REQUEST_POLICY]: {} }],
  methodConfig: [],
};
