import type { AddressType } from './endpoint-fields.js';
import { EndpointIndex } from './endpoint-index.js';
import type { EndpointSet } from './types.js';

/** Options shared by both aggregators. */
export interface AggregatorOptions {
  readonly namespace: string;
  readonly service: string;
  /**
   * Which Service port to follow, matched in each slice (or v1 subset) separately:
   * - a string: the port name ('' for a single unnamed port);
   * - a number: a port entry whose `port` number equals it, whatever its name (with named ports that map
   *   to different numbers on different pods, only the pods using that number are included);
   * - absent: the only port name the slices declare; several names make `snapshot()` throw
   *   `PortSelectionError`; no slices (or no ports) give an empty set with `port: undefined`.
   * A number matching ports of several names also throws `PortSelectionError`, and so does a name or
   * number that no slice carries while some slice declares ports (a typo, or a Service port number
   * where slices list target ports): its message lists the declared ports. When no slice declares a
   * port (a Service without endpoints) the set is empty with `port: undefined`. A port entry without
   * a number ("all ports" in the API) yields no endpoints.
   */
  readonly port?: string | number;
  /**
   * Keep only these address families. Default: all. A dual-stack Service has one slice per family,
   * so by default its set holds both the IPv4 and the IPv6 address of each pod (as separate endpoints).
   */
  readonly addressTypes?: readonly AddressType[];
}

/** What both aggregators share: options, the incremental index, `snapshot()`. */
export abstract class AggregatorBase {
  protected readonly options: AggregatorOptions;
  protected readonly index: EndpointIndex;
  /** The `addressTypes` option as a set; undefined keeps every type. */
  protected readonly types: ReadonlySet<AddressType> | undefined;

  protected constructor(options: AggregatorOptions, source: EndpointSet['source']) {
    this.options = options;
    this.types = options.addressTypes === undefined ? undefined : new Set(options.addressTypes);
    this.index = new EndpointIndex(options, source);
  }

  /**
   * The current set if it changed since the previous call (the first call always returns one),
   * else undefined. `resourceVersion` is carried into the set; on its own it is not a change.
   * @throws PortSelectionError when the port to follow is ambiguous (see AggregatorOptions.port).
   */
  snapshot(resourceVersion?: string): EndpointSet | undefined {
    return this.index.snapshot(resourceVersion);
  }
}
