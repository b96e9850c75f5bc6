import { type Endpoint, type EndpointSet, EndpointSliceAggregator } from '@endpoint-watch/core';
import fc from 'fast-check';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createBalancer, type EndpointState, type StrategyFactory } from '../src/index.js';
import { ZoneCounts } from '../src/zone.js';
import { ep } from './support.js';

const OPTIONS = { local: 'z1', node: 'n1', minClusterSize: 2 };

const memberArb: fc.Arbitrary<MemberModel> = fc.record({
  zone: fc.constantFrom('z1', 'z2', undefined),
  forZones: fc.constantFrom([], ['z1'], ['z2'], ['z1', 'z2']),
  forNodes: fc.constantFrom([], ['n1'], ['n2']),
  healthy: fc.boolean(),
});
interface MemberModel {
  readonly zone: string | undefined;
  readonly forZones: readonly string[];
  readonly forNodes: readonly string[];
  readonly healthy: boolean;
}
type Member = { readonly endpoint: Endpoint; readonly healthy: boolean };

function member(n: number, m: MemberModel): Member {
  const hints =
    m.forZones.length + m.forNodes.length > 0
      ? { hints: { forZones: m.forZones, forNodes: m.forNodes } }
      : {};
  return {
    endpoint: ep(n, { ...(m.zone === undefined ? {} : { zone: m.zone }), ...hints }),
    healthy: m.healthy,
  };
}

function counted(members: readonly Member[]): ZoneCounts {
  const counts = new ZoneCounts(OPTIONS);
  for (const m of members) counts.count(m.endpoint, m.healthy, 1);
  return counts;
}

describe('ZoneCounts', () => {
  it('kept up to date by adds, removals and replacements, decides as a fresh count does (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 7 }), fc.option(memberArb, { nil: undefined })), { maxLength: 40 }),
        fc.constantFrom(0, 50, 100),
        (steps, threshold) => {
          const members = new Map<number, Member>();
          const live = new ZoneCounts(OPTIONS);
          for (const [n, next] of steps) {
            const before = members.get(n);
            if (before !== undefined) live.count(before.endpoint, before.healthy, -1);
            if (next === undefined) members.delete(n);
            else {
              const m = member(n, next);
              members.set(n, m);
              live.count(m.endpoint, m.healthy, 1);
            }
            const all = [...members.values()];
            const healthy = all.filter((m) => m.healthy).length;
            expect(live.group(all.length, healthy, threshold)).toBe(
              counted(all).group(all.length, healthy, threshold),
            );
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('prefers the node, then the zone hints, then the zone field, and spills when the group is short', () => {
    const hinted = (n: number, zone: string, node: string, healthy = true): Member => ({
      endpoint: ep(n, { zone, hints: { forZones: [zone], forNodes: [node] } }),
      healthy,
    });
    const decide = (members: Member[]) =>
      counted(members).group(members.length, members.filter((m) => m.healthy).length, 50);
    expect(decide([hinted(1, 'z1', 'n1'), hinted(2, 'z2', 'n2')])).toBe('node');
    expect(decide([hinted(1, 'z1', 'n2'), hinted(2, 'z2', 'n2')])).toBe('hinted');
    // The node's only endpoint is unhealthy: on to the zone hints.
    expect(decide([hinted(1, 'z1', 'n1', false), hinted(2, 'z1', 'n2')])).toBe('hinted');
    // One endpoint without hints: the zone field decides.
    expect(decide([hinted(1, 'z2', 'n2'), { endpoint: ep(2, { zone: 'z1' }), healthy: true }])).toBe('zone');
    // Under minClusterSize healthy endpoints the zone field is not used.
    expect(decide([{ endpoint: ep(2, { zone: 'z1' }), healthy: true }])).toBe('spill');
    expect(decide([])).toBe('spill');
  });
});

describe('zone preference under set diffs', () => {
  /** One slice of (address, zone) pairs, port 8080, every endpoint ready. */
  const slice = (endpoints: readonly (readonly [string, string])[]) => ({
    metadata: { name: 'a', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    endpoints: endpoints.map(([address, zone]) => ({ addresses: [address], zone })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  });

  it('hands the strategy only the candidates that joined and left while the zone group stays', () => {
    const calls: string[] = [];
    const keys = (states: readonly EndpointState[]) => states.map((s) => s.key).sort();
    const recording: StrategyFactory = () => {
      let items: readonly EndpointState[] = [];
      return {
        name: 'recording',
        setCandidates(candidates) {
          items = candidates;
          calls.push(`set ${keys(candidates).join(' ')}`);
        },
        updateCandidates(candidates, added, removed) {
          items = candidates;
          calls.push(`update +${keys(added).join(' ')} -${keys(removed).join(' ')}`);
        },
        pick: () => items[0]!,
      };
    };
    const aggregator = new EndpointSliceAggregator({ namespace: 'default', service: 'web' });
    const sets = new Subject<EndpointSet>();
    const balancer = createBalancer(sets, {
      strategy: recording,
      zone: { local: 'z1', minClusterSize: 2 },
    });
    aggregator.reset([
      slice([
        ['10.0.0.1', 'z1'],
        ['10.0.0.2', 'z1'],
        ['10.0.0.3', 'z1'],
        ['10.0.0.4', 'z2'],
        ['10.0.0.5', 'z2'],
      ]),
    ]);
    sets.next(aggregator.snapshot()!);
    // 10.0.0.3 moves to z2, 10.0.0.6 joins in z1, 10.0.0.5 (z2) leaves, 10.0.0.4 moves to z1.
    aggregator.upsert(
      slice([
        ['10.0.0.1', 'z1'],
        ['10.0.0.2', 'z1'],
        ['10.0.0.3', 'z2'],
        ['10.0.0.4', 'z1'],
        ['10.0.0.6', 'z1'],
      ]),
    );
    const next = aggregator.snapshot()!;
    expect(next.changes).toBeDefined();
    sets.next(next);
    expect(calls).toEqual([
      'set 10.0.0.1:8080 10.0.0.2:8080 10.0.0.3:8080',
      'update +10.0.0.4:8080 10.0.0.6:8080 -10.0.0.3:8080',
    ]);
    expect(balancer.stats().zoneRouting).toBe('local');
    expect(
      balancer
        .stats()
        .endpoints.filter((e) => e.candidate)
        .map((e) => e.key)
        .sort(),
    ).toEqual(['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.4:8080', '10.0.0.6:8080']);
    balancer.close();
  });
});
