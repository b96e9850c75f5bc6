import type { Endpoint, EndpointSet } from '@endpoint-watch/core';

/** Deterministic PRNG (mulberry32), uniform in [0, 1). */
export { seededRandom as seeded } from '@endpoint-watch/testing';

/** A clock the test moves by hand. */
export class ManualClock {
  constructor(public t = 1_000_000) {}
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export function ep(n: number, extra: Partial<Endpoint> = {}): Endpoint {
  return {
    address: `10.0.0.${n}`,
    port: 8080,
    addressType: 'IPv4',
    ready: true,
    serving: true,
    terminating: false,
    ...extra,
  };
}

export function set(endpoints: readonly Endpoint[], service = 'web'): EndpointSet {
  return {
    namespace: 'default',
    service,
    port: { name: 'http', protocol: 'TCP' },
    endpoints,
    all: endpoints,
    resourceVersion: '1',
    source: 'endpointslices',
  };
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

export function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}
