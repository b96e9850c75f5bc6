/**
 * A least-request load-balancing policy for grpc-js, with gRFC A48's semantics: every endpoint is
 * kept connected (one `LeafLoadBalancer`, i.e. a pick_first over its address, per endpoint, as
 * grpc-js' round_robin does); a call goes to the less loaded of `choiceCount` READY endpoints
 * sampled at random, the load being the calls started on it and not yet ended (counted through the
 * pick result's `onCallStarted`/`onCallEnded`, so streams count for as long as they are open).
 *
 * Unlike round_robin, which rebuilds every child on each resolution, children are kept across
 * updates by address: an endpoint that stays keeps its connection and its count, one that leaves
 * is destroyed at once (its subchannel unref'd: grpc-js closes the connection gracefully, so the
 * calls in flight on it finish) and no new call is picked for it.
 *
 * Usable through service config: `{ loadBalancingConfig: [{ endpoint_watch_least_request: { choiceCount: 2 } }] }`.
 */
import type { ChannelOptions, StatusObject } from '@grpc/grpc-js';
import { connectivityState as ConnectivityState, experimental } from '@grpc/grpc-js';
import { GrpcBalancingOptionsError } from './errors.js';
import {
  addressUpdate,
  createLeaf,
  type PolicyContext,
  policyContext,
  type StatusOr,
} from './grpc-js-api.js';
import { MAX_CHOICE_COUNT, MIN_CHOICE_COUNT, type OutstandingCalls, pickLeastRequest } from './p2c.js';

/** The policy's name in service config. Not A48's `least_request_experimental`, which grpc-js may adopt. */
export const LEAST_REQUEST_POLICY = 'endpoint_watch_least_request';

export class LeastRequestConfig implements experimental.TypedLoadBalancingConfig {
  readonly choiceCount: number;
  constructor(choiceCount = MIN_CHOICE_COUNT) {
    this.choiceCount = choiceCount;
  }
  getLoadBalancerName(): string {
    return LEAST_REQUEST_POLICY;
  }
  toJsonObject(): object {
    return { [LEAST_REQUEST_POLICY]: { choiceCount: this.choiceCount } };
  }
  static createFromJson(json: unknown): LeastRequestConfig {
    const choiceCount = (json as { choiceCount?: unknown } | null)?.choiceCount ?? MIN_CHOICE_COUNT;
    if (typeof choiceCount !== 'number' || !Number.isInteger(choiceCount) || choiceCount < MIN_CHOICE_COUNT)
      throw new GrpcBalancingOptionsError(
        `${LEAST_REQUEST_POLICY}: choiceCount must be an integer ≥ ${MIN_CHOICE_COUNT}, got ${String(choiceCount)}`,
      );
    return new LeastRequestConfig(Math.min(choiceCount, MAX_CHOICE_COUNT));
  }
}

interface Child extends OutstandingCalls {
  readonly key: string;
  readonly leaf: experimental.LeafLoadBalancer;
}

class LeastRequestPicker implements experimental.Picker {
  readonly #ready: readonly Child[];
  readonly #choiceCount: number;
  constructor(ready: readonly Child[], choiceCount: number) {
    this.#ready = ready;
    this.#choiceCount = choiceCount;
  }
  pick(args: experimental.PickArgs): experimental.PickResult {
    const child = this.#ready[pickLeastRequest(this.#ready, this.#choiceCount)] as Child;
    const result = child.leaf.getPicker().pick(args);
    if (result.pickResultType !== experimental.PickResultType.COMPLETE) return result;
    const { onCallStarted, onCallEnded } = result;
    // Counted from the start, not the pick: a pick may be redone before any call is made on it.
    return {
      ...result,
      onCallStarted: () => {
        child.outstanding += 1;
        onCallStarted?.();
      },
      onCallEnded: (code, details, metadata) => {
        child.outstanding -= 1;
        onCallEnded?.(code, details, metadata);
      },
    };
  }
}

export class LeastRequestLoadBalancer implements experimental.LoadBalancer {
  readonly #helper: experimental.ChannelControlHelper;
  readonly #childHelper: experimental.ChannelControlHelper;
  readonly #context: PolicyContext;
  #children = new Map<string, Child>();
  #choiceCount = MIN_CHOICE_COUNT;
  #state = ConnectivityState.IDLE;
  #updatesPaused = false;
  #lastError: string | null = null;
  #note = '';
  #resolved = false;

  /** `grpcJsArgs`: what grpc-js passes after the helper (channel options, credentials in 1.10–1.12). */
  constructor(helper: experimental.ChannelControlHelper, ...grpcJsArgs: unknown[]) {
    this.#helper = helper;
    this.#context = policyContext(grpcJsArgs);
    this.#childHelper = experimental.createChildChannelControlHelper(helper, {
      updateState: (state, _picker, errorMessage) => {
        // As round_robin does: a lost READY connection is a hint that the addresses may be stale.
        if (this.#state === ConnectivityState.READY && state !== ConnectivityState.READY)
          this.#helper.requestReresolution();
        if (errorMessage) this.#lastError = errorMessage;
        this.#publish();
      },
    });
  }

  /**
   * grpc-js 1.14 passes a `StatusOr` list, the channel options and a note; 1.10–1.13 a plain list
   * and either the resolver attributes (1.10–1.12) or the options (1.13), no note (`addressUpdate`).
   */
  updateAddressList(
    maybeEndpoints: StatusOr<experimental.Endpoint[]> | experimental.Endpoint[],
    config: experimental.TypedLoadBalancingConfig,
    channelOptions: ChannelOptions,
    resolutionNote?: string,
  ): boolean {
    if (!(config instanceof LeastRequestConfig)) return false;
    const { endpoints, options, note } = addressUpdate(
      this.#context,
      maybeEndpoints,
      channelOptions,
      resolutionNote,
    );
    this.#choiceCount = config.choiceCount;
    if (!endpoints.ok) {
      // An error before any address: fail calls with it. After, keep what is known.
      if (this.#children.size === 0) this.#fail(endpoints.error.details, endpoints.error);
      return true;
    }
    this.#resolved = true;
    this.#note = note;
    this.#updatesPaused = true;
    const next = new Map<string, Child>();
    for (const endpoint of endpoints.value) {
      const key = experimental.endpointToString(endpoint);
      if (next.has(key)) continue;
      const kept = this.#children.get(key);
      if (kept) {
        kept.leaf.updateEndpoint(endpoint, options);
        next.set(key, kept);
      } else {
        const leaf = createLeaf(this.#context, endpoint, this.#childHelper, options, note);
        next.set(key, { key, leaf, outstanding: 0 });
        leaf.startConnecting();
      }
    }
    for (const [key, child] of this.#children) if (!next.has(key)) child.leaf.destroy();
    this.#children = next;
    this.#updatesPaused = false;
    this.#publish();
    return true;
  }

  exitIdle(): void {
    for (const child of this.#children.values()) child.leaf.exitIdle();
  }

  resetBackoff(): void {
    // Each child's pick_first owns its backoff.
  }

  destroy(): void {
    for (const child of this.#children.values()) child.leaf.destroy();
    this.#children.clear();
  }

  getTypeName(): string {
    return LEAST_REQUEST_POLICY;
  }

  /** The aggregate state, as round_robin computes it: READY if any is, else CONNECTING, else TF. */
  #publish(): void {
    if (this.#updatesPaused) return;
    const children = [...this.#children.values()];
    const ready = children.filter((child) => child.leaf.getConnectivityState() === ConnectivityState.READY);
    if (ready.length > 0) {
      this.#update(ConnectivityState.READY, new LeastRequestPicker(ready, this.#choiceCount), null);
    } else if (children.length === 0 && this.#resolved) {
      this.#fail(this.#note === '' ? 'no addresses resolved' : this.#note);
    } else if (children.some((child) => child.leaf.getConnectivityState() === ConnectivityState.CONNECTING)) {
      this.#update(ConnectivityState.CONNECTING, new experimental.QueuePicker(this), null);
    } else if (
      children.some((child) => child.leaf.getConnectivityState() === ConnectivityState.TRANSIENT_FAILURE)
    ) {
      const note = this.#note === '' ? '' : `; ${this.#note}`;
      this.#fail(`${LEAST_REQUEST_POLICY}: no connection established; last error: ${this.#lastError}${note}`);
    } else {
      this.#update(ConnectivityState.IDLE, new experimental.QueuePicker(this), null);
    }
    // Keep every endpoint connected, as A48 asks: a child back in IDLE (its connection closed) reconnects.
    for (const child of children)
      if (child.leaf.getConnectivityState() === ConnectivityState.IDLE) child.leaf.exitIdle();
  }

  #fail(details: string, status?: Partial<StatusObject>): void {
    this.#update(
      ConnectivityState.TRANSIENT_FAILURE,
      new experimental.UnavailablePicker(status ?? { details }),
      details,
    );
  }

  #update(state: ConnectivityState, picker: experimental.Picker, errorMessage: string | null): void {
    this.#state = state;
    this.#helper.updateState(state, picker, errorMessage);
  }
}

let registered = false;

/** Registers the policy under `LEAST_REQUEST_POLICY` (once; later calls do nothing). */
export function registerLeastRequestPolicy(): void {
  if (registered) return;
  experimental.registerLoadBalancerType(LEAST_REQUEST_POLICY, LeastRequestLoadBalancer, LeastRequestConfig);
  registered = true;
}

/**
 * Channel options that make a channel use the least-request policy (for targets other than
 * `kubernetes:`, whose resolver already makes it the default): `new Client(target, creds, leastRequestChannelOptions())`.
 */
export function leastRequestChannelOptions(choiceCount = MIN_CHOICE_COUNT): ChannelOptions {
  registerLeastRequestPolicy();
  LeastRequestConfig.createFromJson({ choiceCount });
  return {
    'grpc.service_config': JSON.stringify({
      loadBalancingConfig: [{ [LEAST_REQUEST_POLICY]: { choiceCount } }],
    }),
  };
}
