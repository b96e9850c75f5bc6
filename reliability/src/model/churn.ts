/**
 * The mutator's choices: which slice of which Service to create, rewrite or delete, with which
 * endpoints and conditions. Pure (a seeded random source in, slice specs out); the runner writes
 * them to the fake apiserver.
 */
import { type EndpointSliceSpec, type EndpointSpec, endpointSlice } from '@endpoint-watch/testing';
import { trueState } from './reference.js';

/**
 * Condition sets a real cluster can show, nil spellings included: (ready, serving, terminating) is
 * always one of (T,T,F), (F,F,F), (F,T,T), (F,F,T). Two copies that tie under kube-proxy's rule are
 * therefore identical, and the comparison never depends on which one wins.
 */
const CONDITIONS: ReadonlyArray<Pick<EndpointSpec, 'ready' | 'serving' | 'terminating'>> = [
  {},
  { ready: true },
  { ready: true, serving: true, terminating: false },
  { ready: false, serving: false },
  { ready: false, serving: false, terminating: false },
  { ready: false, serving: true, terminating: true },
  { ready: false, terminating: true },
  { ready: false, serving: false, terminating: true },
];

export interface ChurnService {
  readonly name: string;
  /** The addresses its endpoints are drawn from (the same address in several slices: duplicates). */
  readonly addresses: readonly string[];
  /** The number behind port `http` (a few slices use another: a named port that maps differently per pod). */
  readonly port: number;
  /** Never fewer ready endpoints than this, in any state (the adapters' pods). Default 0. */
  readonly minReady?: number;
  /** Default 4. */
  readonly maxSlices?: number;
}

export type Write =
  | { readonly kind: 'upsert'; readonly spec: EndpointSliceSpec }
  | { readonly kind: 'delete'; readonly namespace: string; readonly name: string };

/** One step: writes to one Service, as one batch or one by one. */
export interface Mutation {
  readonly service: string;
  readonly what: string;
  readonly batch: boolean;
  readonly writes: readonly Write[];
}

interface ServiceSlices {
  readonly service: ChurnService;
  readonly slices: Map<string, EndpointSliceSpec>;
  created: number;
}

export class Churn {
  readonly #random: () => number;
  readonly #namespace: string;
  readonly #services: ServiceSlices[];

  constructor(random: () => number, namespace: string, services: readonly ChurnService[]) {
    this.#random = random;
    this.#namespace = namespace;
    this.#services = services.map((service) => ({ service, slices: new Map(), created: 0 }));
  }

  /** Two slices per Service to start from (with the ready minimum met). */
  initial(): Mutation[] {
    return this.#services.map((s) => {
      const writes: Write[] = [];
      for (let i = 0; i < 2; i++) writes.push(this.#upsert(s, this.#newSlice(s, s.service.minReady ?? 0)));
      return { service: s.service.name, what: 'create', batch: true, writes };
    });
  }

  /** The next change, to a random Service. */
  next(): Mutation {
    const s = this.#pick(this.#services);
    for (let tries = 0; tries < 50; tries++) {
      const mutation = this.#propose(s);
      // Every state along the way must keep the minimum, also between the writes of a batch.
      if (this.#keepsMinimum(s, mutation.writes)) {
        for (const write of mutation.writes) this.#apply(s, write);
        return mutation;
      }
    }
    return {
      service: s.service.name,
      what: 'nothing (no change kept the ready minimum)',
      batch: false,
      writes: [],
    };
  }

  #propose(s: ServiceSlices): Mutation {
    const name = s.service.name;
    const existing = [...s.slices.values()];
    const max = s.service.maxSlices ?? 4;
    const r = this.#random();
    const canScaleToZero = (s.service.minReady ?? 0) === 0;
    if (existing.length === 0 || (r < 0.15 && existing.length < max)) {
      return {
        service: name,
        what: 'add a slice',
        batch: false,
        writes: [this.#upsertSpec(this.#newSlice(s, 0))],
      };
    }
    if (r < 0.25 && existing.length > 1) {
      const victim = this.#pick(existing);
      return { service: name, what: 'delete a slice', batch: false, writes: [this.#delete(victim)] };
    }
    if (r < 0.3 && canScaleToZero) {
      // Scale to zero: the controller deletes the slices or empties them.
      const empty = this.#random() < 0.5;
      return {
        service: name,
        what: empty ? 'scale to zero (empty slices)' : 'scale to zero (no slices)',
        batch: true,
        writes: existing.map((spec) =>
          empty ? this.#upsertSpec({ ...spec, endpoints: [] }) : this.#delete(spec),
        ),
      };
    }
    if (r < 0.4 && existing.length > 1) {
      const changed = existing.filter(() => this.#random() < 0.6).map((spec) => this.#rewrite(s, spec));
      if (changed.length > 0)
        return { service: name, what: 'rewrite slices in one batch', batch: true, writes: changed };
    }
    if (r < 0.55) {
      const spec = this.#pick(existing);
      const endpoints = spec.endpoints.map((e) =>
        this.#random() < 0.5 ? { addresses: e.addresses, ...this.#conditions(s) } : e,
      );
      return {
        service: name,
        what: 'flip conditions',
        batch: false,
        writes: [this.#upsertSpec({ ...spec, endpoints })],
      };
    }
    return {
      service: name,
      what: 'rewrite a slice',
      batch: false,
      writes: [this.#rewrite(s, this.#pick(existing))],
    };
  }

  #keepsMinimum(s: ServiceSlices, writes: readonly Write[]): boolean {
    const min = s.service.minReady ?? 0;
    if (min === 0) return true;
    const slices = new Map(s.slices);
    for (const write of writes) {
      if (write.kind === 'upsert') slices.set(write.spec.name!, write.spec);
      else slices.delete(write.name);
      const state = trueState(
        [...slices.values()].map((spec) => endpointSlice(spec)),
        { namespace: this.#namespace, service: s.service.name, portName: 'http' },
      );
      if (state.all.filter((e) => e.includes(' ready')).length < min) return false;
    }
    return true;
  }

  #newSlice(s: ServiceSlices, minReady: number): EndpointSliceSpec {
    s.created += 1;
    const endpoints = this.#endpoints(s);
    for (let i = 0; i < minReady && i < s.service.addresses.length; i++)
      endpoints.push({ addresses: [s.service.addresses[i]!] });
    return {
      namespace: this.#namespace,
      service: s.service.name,
      name: `${s.service.name}-${s.created}`,
      ports: [{ name: 'http', port: this.#port(s) }],
      endpoints,
    };
  }

  #rewrite(s: ServiceSlices, spec: EndpointSliceSpec): Write {
    return this.#upsertSpec({
      ...spec,
      ports: [{ name: 'http', port: this.#port(s) }],
      endpoints: this.#endpoints(s),
    });
  }

  #endpoints(s: ServiceSlices): EndpointSpec[] {
    const count = Math.floor(this.#random() * (Math.max(4, s.service.addresses.length) + 1));
    const out: EndpointSpec[] = [];
    const used = new Set<string>();
    for (let i = 0; i < count; i++) {
      const address = this.#pick(s.service.addresses);
      // One address per slice (the controller never lists a pod twice in a slice); across slices, anything.
      if (used.has(address)) continue;
      used.add(address);
      out.push({ addresses: [address], ...this.#conditions(s) });
    }
    return out;
  }

  #conditions(s: ServiceSlices): Pick<EndpointSpec, 'ready' | 'serving' | 'terminating'> {
    // A Service that must keep ready endpoints mostly gets ready ones, or few changes would pass.
    if ((s.service.minReady ?? 0) > 0 && this.#random() < 0.7) return this.#pick(CONDITIONS.slice(0, 3));
    return this.#pick(CONDITIONS);
  }

  #port(s: ServiceSlices): number {
    return this.#random() < 0.05 && (s.service.minReady ?? 0) === 0 ? s.service.port + 1 : s.service.port;
  }

  #upsert(s: ServiceSlices, spec: EndpointSliceSpec): Write {
    const write = this.#upsertSpec(spec);
    this.#apply(s, write);
    return write;
  }

  #upsertSpec(spec: EndpointSliceSpec): Write {
    return { kind: 'upsert', spec };
  }

  #delete(spec: EndpointSliceSpec): Write {
    return { kind: 'delete', namespace: this.#namespace, name: spec.name! };
  }

  #apply(s: ServiceSlices, write: Write): void {
    if (write.kind === 'upsert') s.slices.set(write.spec.name!, write.spec);
    else s.slices.delete(write.name);
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)]!;
  }
}
