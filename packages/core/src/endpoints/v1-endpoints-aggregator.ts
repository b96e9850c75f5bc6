import { AggregatorBase, type AggregatorOptions } from './aggregator-base.js';
import type { RecordGroup } from './endpoint-record.js';
import { ParsedV1Endpoints, parseV1Endpoints } from './v1-endpoints-parser.js';

/**
 * The endpoints of one Service port from the legacy core/v1 `Endpoints` object (named like the
 * Service). `subsets[].addresses` are ready (ready = serving = true), `notReadyAddresses` are not
 * (ready = serving = false); terminating is always false because v1 cannot express serving or
 * terminating. Address types are inferred (IPv6 if the ip contains ':'). Ports are matched per subset
 * like slices (see AggregatorOptions.port), and the same dedupe, preference and structural sharing
 * apply (subsets play the part of slices, named by their port list). An object with another name or
 * namespace is ignored. Every method is atomic: on InvalidObjectError nothing changed.
 * Each `set()` reads the whole object (v1 has no smaller unit), reusing unchanged addresses without
 * zod. The Endpoints controller truncates objects at 1000 addresses (annotation
 * `endpoints.kubernetes.io/over-capacity: truncated`): prefer EndpointSlices where they exist.
 */
export class V1EndpointsAggregator extends AggregatorBase {
  /** The last parsed version given raw, so that the next one reuses its records. */
  #parsed: ParsedV1Endpoints | undefined;

  constructor(options: AggregatorOptions) {
    super(options, 'endpoints');
  }

  /** The Endpoints object was listed, ADDED or MODIFIED (raw, or parsed by `parseV1Endpoints`). */
  set(obj: unknown): void {
    const parsed = obj instanceof ParsedV1Endpoints ? obj : parseV1Endpoints(obj, this.#parsed);
    const meta = parsed.metadata;
    if (
      meta.name !== this.options.service ||
      (meta.namespace !== undefined && meta.namespace !== this.options.namespace)
    ) {
      return;
    }
    this.#parsed = parsed;
    const types = this.types;
    const groups = new Map<string, RecordGroup>();
    for (const subset of parsed.subsets) {
      groups.set(
        subset.name,
        types === undefined
          ? subset
          : { ports: subset.ports, records: subset.records.filter((r) => types.has(r.addressType)) },
      );
    }
    this.index.replaceAll(groups);
  }

  /** The Endpoints object was DELETED. */
  clear(): void {
    this.#parsed = undefined;
    this.index.replaceAll(new Map());
  }
}
