/**
 * The one place that knows the shapes of grpc-js' `experimental` API this package uses, which
 * changed within the peer range ^1.10. The resolver and the policy speak one internal interface
 * (the 1.14 shapes: a `StatusOr` endpoint list, channel options, a resolution note); this file
 * turns it into, and reads it from, what the installed grpc-js passes. Shapes are told apart by
 * what grpc-js hands over (a function or an object listener, an array or a `StatusOr`, the
 * arguments of the policy's constructor), never by a version string: a patched or bundled copy
 * reports no reliable version, and the argument it passes cannot lie.
 *
 * | grpc-js   | resolver listener                                | policy constructor         | updateAddressList(…)                        | LeafLoadBalancer(…)                  |
 * | --------- | ------------------------------------------------ | -------------------------- | ------------------------------------------- | ------------------------------------ |
 * | 1.10–1.11 | `{ onSuccessfulResolution(list, sc, …), onError }` | (helper, options)          | (list, config, resolver attributes)         | (endpoint, helper, options)          |
 * | 1.12      | same                                             | (helper, credentials, opts) | same                                        | (endpoint, helper, credentials, opts) |
 * | 1.13      | same                                             | (helper)                   | (list, config, options with attributes)     | (endpoint, helper, options)          |
 * | 1.14      | `(StatusOr<list>, attributes, StatusOr<sc>, note)` | (helper)                   | (StatusOr<list>, config, options, note)     | (endpoint, helper, options, note)    |
 *
 * Before 1.14 grpc-js has no resolution note: the resolver passes it as a resolver attribute,
 * which reaches the policy (`NOTE_ATTRIBUTE`).
 */
import {
  ChannelCredentials,
  type ChannelOptions,
  experimental,
  Metadata,
  type ServiceConfig,
  type StatusObject,
  status,
} from '@grpc/grpc-js';

/**
 * grpc-js leaves channel options whose key starts with this out of the subchannel arguments
 * (1.13+ exports it; 1.10–1.12 keep resolver attributes apart from channel options anyway).
 */
export const ATTRIBUTE_PREFIX =
  (experimental as { SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX?: string }).SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX ??
  'grpc.internal.no_subchannel';

/** The resolution note, as a resolver attribute, for grpc-js versions without notes (< 1.14). */
export const NOTE_ATTRIBUTE = `${ATTRIBUTE_PREFIX}.endpoint_watch.note`;

export type Attributes = { readonly [key: string]: unknown };

/** grpc-js 1.14's `experimental.StatusOr`, declared here: older grpc-js typings have none. */
export type StatusOr<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: StatusObject };

/** What a resolver reports: endpoints (with attributes), or an UNAVAILABLE error. */
export type Resolution =
  | { readonly ok: true; readonly endpoints: experimental.Endpoint[]; readonly attributes: Attributes }
  | { readonly ok: false; readonly details: string };

/** Sends resolutions to the listener grpc-js gave a resolver, whatever its shape. */
export type ResolutionSink = (
  resolution: Resolution,
  serviceConfig: ServiceConfig | null,
  note: string,
) => void;

interface ObjectListener {
  onSuccessfulResolution(
    endpoints: experimental.Endpoint[],
    serviceConfig: ServiceConfig | null,
    serviceConfigError: StatusObject | null,
    configSelector: null,
    attributes: Attributes,
  ): void;
  onError(error: StatusObject): void;
}

export function resolutionSink(listener: experimental.ResolverListener | ObjectListener): ResolutionSink {
  if (typeof listener === 'function') {
    // 1.14+: one function taking StatusOr values and the note.
    return (resolution, serviceConfig, note) =>
      listener(
        resolution.ok
          ? { ok: true, value: resolution.endpoints }
          : {
              ok: false,
              error: { code: status.UNAVAILABLE, details: resolution.details, metadata: new Metadata() },
            },
        resolution.ok ? resolution.attributes : {},
        serviceConfig === null ? null : { ok: true, value: serviceConfig },
        note,
      );
  }
  return (resolution, serviceConfig, note) => {
    if (resolution.ok)
      listener.onSuccessfulResolution(resolution.endpoints, serviceConfig, null, null, {
        ...resolution.attributes,
        [NOTE_ATTRIBUTE]: note,
      });
    else
      listener.onError({ code: status.UNAVAILABLE, details: resolution.details, metadata: new Metadata() });
  };
}

/** What grpc-js gave a policy's constructor besides its helper (nothing from 1.13 on). */
export interface PolicyContext {
  /** 1.12 only: its `LeafLoadBalancer` needs them. */
  readonly credentials: ChannelCredentials | undefined;
  /** 1.10–1.12: the channel options (later versions pass them with each address list). */
  readonly options: ChannelOptions | undefined;
}

export function policyContext(constructorArgs: readonly unknown[]): PolicyContext {
  const [first, second] = constructorArgs;
  if (first instanceof ChannelCredentials)
    return { credentials: first, options: (second ?? {}) as ChannelOptions };
  return { credentials: undefined, options: first === undefined ? undefined : (first as ChannelOptions) };
}

/** An address list as the policy reads it, whatever grpc-js passed. */
export interface AddressUpdate {
  readonly endpoints: StatusOr<experimental.Endpoint[]>;
  /** The options for its children (channel options; with the resolver attributes from 1.13 on). */
  readonly options: ChannelOptions;
  /** The options a policy hands to `endpointLocality`: where the resolver attributes are. */
  readonly attributes: ChannelOptions;
  readonly note: string;
}

export function addressUpdate(
  context: PolicyContext,
  endpoints: StatusOr<experimental.Endpoint[]> | experimental.Endpoint[],
  third: ChannelOptions | Attributes,
  note: string | undefined,
): AddressUpdate {
  if (!Array.isArray(endpoints)) return { endpoints, options: third, attributes: third, note: note ?? '' };
  const noteAttribute = (third as Attributes)[NOTE_ATTRIBUTE];
  return {
    endpoints: { ok: true, value: endpoints },
    // 1.10–1.12 pass resolver attributes here and the channel options to the constructor.
    options: context.options ?? third,
    attributes: third,
    note: typeof noteAttribute === 'string' ? noteAttribute : '',
  };
}

type LeafConstructor = new (...args: unknown[]) => experimental.LeafLoadBalancer;

export function createLeaf(
  context: PolicyContext,
  endpoint: experimental.Endpoint,
  helper: experimental.ChannelControlHelper,
  options: ChannelOptions,
  note: string,
): experimental.LeafLoadBalancer {
  const Leaf = experimental.LeafLoadBalancer as unknown as LeafConstructor;
  // 1.12 wants the credentials before the options; 1.10, 1.11 and 1.13 ignore the trailing note.
  return context.credentials === undefined
    ? new Leaf(endpoint, helper, options, note)
    : new Leaf(endpoint, helper, context.credentials, options);
}
