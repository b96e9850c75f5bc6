import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EndpointRecord } from '../../src/endpoints/endpoint-record.js';
import {
  EndpointSliceAggregator,
  InvalidObjectError,
  PortSelectionError,
  parseEndpointSlice,
  parseV1Endpoints,
  V1EndpointsAggregator,
} from '../../src/endpoints/model.js';
import type { EndpointSet } from '../../src/endpoints/types.js';
import { fuzzRuns, fuzzTimeout } from '../support/fuzz.js';
import {
  absurdNumber,
  hostileString,
  looseValue,
  mostly,
  sliceEndpointLike,
  sliceShellLike,
} from '../support/json-arbitraries.js';
import { NS, SVC, slice } from './fixtures.js';
import {
  NAMES,
  Observer,
  type Op,
  type Outcome,
  opArb,
  options,
  portOption,
  raw,
  reference,
  run,
  type SliceModel,
  sliceArb,
} from './slice-model.js';

/** Addresses a hostile slice may carry: valid ones of each family, near misses, and garbage. */
const address = fc.oneof(
  fc.constantFrom(
    '10.0.0.1',
    '010.000.000.001',
    '300.01.1.1',
    '1.2.3',
    'fd00::1',
    'FD00:0:0::1',
    '::ffff:10.0.0.1',
    '::1]:80/x',
    'fe80::1%eth0',
    '[::1]',
    'web.example.',
    '',
  ),
  hostileString,
);

/** Port numbers: usable ones, the edges of the range, anything at all. */
const portNumber = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(80, 8080) },
  { weight: 2, arbitrary: fc.constantFrom(0, -1, 1, 65_535, 65_536) },
  { weight: 1, arbitrary: absurdNumber },
  { weight: 1, arbitrary: looseValue },
);

/** A port entry: mostly a usable one, else a number no connection can use, or the wrong type. */
const slicePort = fc.record(
  {
    name: mostly(fc.constantFrom('http', '', 'metrics')),
    port: portNumber,
    protocol: mostly(fc.constantFrom('TCP', 'UDP')),
  },
  { requiredKeys: [] },
);

const condition = mostly(fc.boolean());

/** An endpoint entry: mostly valid, with any address; else a shape from the guards' twin tests. */
const sliceEntry = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      {
        addresses: fc.array(address, { minLength: 1, maxLength: 2 }),
        conditions: mostly(
          fc.record({ ready: condition, serving: condition, terminating: condition }, { requiredKeys: [] }),
        ),
        nodeName: mostly(hostileString),
        zone: mostly(hostileString),
      },
      { requiredKeys: ['addresses'] },
    ),
  },
  { weight: 1, arbitrary: sliceEndpointLike },
);

/** Any value where an EndpointSlice is expected: mostly right, shapes of wrong fields, or garbage. */
const sliceLike: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      metadata: mostly(
        fc.record(
          { name: fc.constantFrom('web-a', 'web-b'), namespace: mostly(fc.constant(NS)) },
          { requiredKeys: ['name'] },
        ),
      ),
      addressType: mostly(fc.constantFrom('IPv4', 'IPv6', 'FQDN')),
      endpoints: mostly(fc.array(sliceEntry, { maxLength: 4 })),
      ports: mostly(fc.array(slicePort, { maxLength: 2 })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(sliceShellLike, fc.array(sliceEndpointLike, { maxLength: 3 }))
      .map(([shell, endpoints]) => ({ ...shell, endpoints })),
  },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) },
);

/**
 * Port names and protocols made of the pieces of a subset's name (`http:80/TCP,…#2`): where two
 * different port lists could be written the same.
 */
const portText = fc.oneof(
  fc.constant('TCP'),
  fc
    .array(fc.constantFrom('http', ':', '80', '/', 'TCP', ',', '#', '2'), { maxLength: 4 })
    .map((t) => t.join('')),
  hostileString,
);

const v1Port = fc.record(
  {
    name: mostly(portText),
    port: portNumber,
    protocol: mostly(portText),
  },
  { requiredKeys: ['port'] },
);

const v1Address = fc.record({ ip: address, nodeName: mostly(hostileString) }, { requiredKeys: ['ip'] });

/** Any value where a core/v1 Endpoints is expected: mostly right, with wrong fields here and there. */
const v1Like: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      metadata: mostly(fc.constant({ name: SVC, namespace: NS })),
      subsets: mostly(
        fc.array(
          fc.record(
            {
              addresses: mostly(fc.array(mostly(v1Address), { maxLength: 3 })),
              notReadyAddresses: mostly(fc.array(mostly(v1Address), { maxLength: 2 })),
              ports: mostly(fc.array(v1Port, { minLength: 1, maxLength: 2 })),
            },
            { requiredKeys: [] },
          ),
          { maxLength: 4 },
        ),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) },
);

/** Two equal port lists and a third whose protocol makes it read like the second one's `#2` name. */
const V1_NAME_CLASH = {
  metadata: { name: SVC, namespace: NS },
  subsets: ['TCP', 'TCP', 'TCP#2'].map((protocol, i) => ({
    addresses: [{ ip: `10.0.0.${i + 1}` }],
    ports: [{ name: 'http', port: 80, protocol }],
  })),
};

/** A port number a connection can use. */
const isPort = (port: number) => Number.isInteger(port) && port >= 1 && port <= 65_535;

/**
 * An address the model rewrote (canonical form) must have been, and be, a valid address of its
 * family: garbage stays as it came (`written` is the address as written in the object).
 */
function expectSaneRecord(record: EndpointRecord, written: unknown): void {
  expect(typeof record.address).toBe('string');
  expect(typeof written).toBe('string');
  if (record.address === written) return;
  const family = record.addressType === 'IPv6' ? 6 : 4;
  expect(isIP(record.address)).toBe(family);
  expect(isIP((written as string).replace(/(^|\.)0+(?=\d)/g, '$1'))).toBe(family);
}

/** The first address (or ip) each raw entry of `list` is read from. */
function writtenAddresses(list: unknown, key: 'addresses' | 'ip'): unknown[] {
  if (!Array.isArray(list)) return [];
  return list.map((entry: Record<string, unknown>) =>
    key === 'ip' ? entry.ip : (entry.addresses as unknown[])[0],
  );
}

/** Runs `action`; an error must be an InvalidObjectError. Returns whether it threw. */
function refused(action: () => void): boolean {
  try {
    action();
    return false;
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidObjectError);
    expect((error as InvalidObjectError).code).toBe('ERR_INVALID_OBJECT');
    return true;
  }
}

/**
 * `after` parsed against the parse of `before` (when that one was accepted, so that records may be
 * reused); undefined when refused, which must be with an InvalidObjectError.
 */
function parsePair<T>(
  parse: (raw: unknown, previous: T | undefined) => T,
  before: unknown,
  after: unknown,
): T | undefined {
  const attempt = (raw: unknown, previous: T | undefined) => {
    let parsed: T | undefined;
    refused(() => {
      parsed = parse(raw, previous);
    });
    return parsed;
  };
  return attempt(after, attempt(before, undefined));
}

/** Ways to break a raw slice that the model must refuse: a field the aggregator reads, of the wrong kind. */
const CORRUPTIONS: readonly ((s: Record<string, unknown>) => unknown)[] = [
  () => null,
  () => [],
  () => 'slice',
  (s) => ({ ...s, metadata: 5 }),
  (s) => ({ ...s, metadata: { ...(s.metadata as object), name: '' } }),
  (s) => ({ ...s, metadata: { ...(s.metadata as object), name: 5 } }),
  (s) => ({ ...s, metadata: { ...(s.metadata as object), namespace: [] } }),
  (s) => ({ ...s, metadata: { ...(s.metadata as object), labels: { 'kubernetes.io/service-name': 5 } } }),
  (s) => ({ ...s, addressType: 'ipv4' }),
  (s) => ({ ...s, addressType: null }),
  (s) => ({ ...s, endpoints: { 0: {} } }),
  (s) => ({ ...s, endpoints: 'none' }),
  (s) => ({ ...s, ports: { name: 'http' } }),
  (s) => ({ ...s, ports: [null] }),
  ...[1.5, '80', Number.NaN, Number.POSITIVE_INFINITY, 1e20, 2 ** 53, -1, 0, 65_536].map(
    (port) => (s: Record<string, unknown>) => ({ ...s, ports: [{ name: 'http', port }] }),
  ),
  (s) => ({ ...s, ports: [{ name: 5, port: 80 }] }),
  ...[
    null,
    5,
    [],
    { addresses: [] },
    { addresses: [5] },
    { addresses: '10.0.0.1' },
    { addresses: ['10.0.0.1', null] },
    { addresses: null },
    { addresses: ['10.0.0.1'], conditions: [] },
    { addresses: ['10.0.0.1'], conditions: { ready: 'yes' } },
    { addresses: ['10.0.0.1'], conditions: { terminating: 1 } },
    { addresses: ['10.0.0.1'], hostname: 5 },
    { addresses: ['10.0.0.1'], nodeName: {} },
    { addresses: ['10.0.0.1'], zone: [] },
    { addresses: ['10.0.0.1'], hints: 5 },
    { addresses: ['10.0.0.1'], hints: { forZones: [{ name: 5 }] } },
    { addresses: ['10.0.0.1'], hints: { forNodes: [null] } },
    { addresses: ['10.0.0.1'], targetRef: [] },
    { addresses: ['10.0.0.1'], targetRef: { name: 5 } },
  ].map((entry) => (s: Record<string, unknown>) => {
    // Over an existing entry (so that the previous version's record is there to be reused), or added.
    const endpoints = [...((s.endpoints as unknown[] | null) ?? [])];
    endpoints[endpoints.length === 0 ? 0 : endpoints.length - 1] = entry;
    return { ...s, endpoints };
  }),
];

type HostileOp =
  | Op
  | { readonly op: 'corrupt'; readonly slice: SliceModel; readonly how: number; readonly inReset: boolean };

const hostileOpArb: fc.Arbitrary<HostileOp> = fc.oneof(
  { weight: 3, arbitrary: opArb },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('corrupt' as const),
      slice: sliceArb,
      how: fc.nat(CORRUPTIONS.length - 1),
      inReset: fc.boolean(),
    }),
  },
);

/** After a refused call: the aggregator has no new set to give (or the same port ambiguity). */
function expectUnchanged(o: Observer, before: Outcome): void {
  if ('error' in before) expect(() => o.agg.snapshot()).toThrow(PortSelectionError);
  else expect(o.agg.snapshot()).toBeUndefined();
}

describe('the endpoint model under hostile objects (fuzz)', { timeout: fuzzTimeout }, () => {
  it('parseEndpointSlice: any value gives a sane ParsedEndpointSlice or an InvalidObjectError', () => {
    const runs = fuzzRuns(2000);
    let accepted = 0;
    fc.assert(
      fc.property(sliceLike, sliceLike, (before, after) => {
        const parsed = parsePair(parseEndpointSlice, before, after);
        if (parsed === undefined) return;
        accepted++;
        for (const p of parsed.ports) if (p.port !== undefined) expect(isPort(p.port)).toBe(true);
        const written = writtenAddresses((after as { endpoints?: unknown }).endpoints, 'addresses');
        parsed.records.forEach((r, i) => {
          expectSaneRecord(r, written[i]);
        });
      }),
      { numRuns: runs },
    );
    // The checks above run only on what was accepted: a fair share must be.
    expect(accepted).toBeGreaterThan(runs / 20);
  });

  it('parseV1Endpoints: any value gives sane, distinctly named subsets or an InvalidObjectError', () => {
    const runs = fuzzRuns(2000);
    let accepted = 0;
    fc.assert(
      fc.property(v1Like, v1Like, (before, after) => {
        const parsed = parsePair(parseV1Endpoints, before, after);
        if (parsed === undefined) return;
        accepted++;
        // The aggregator keys subsets by name: two subsets of one name would lose one of them.
        expect(new Set(parsed.subsets.map((s) => s.name)).size).toBe(parsed.subsets.length);
        const rawSubsets = (after as { subsets: { addresses?: unknown; notReadyAddresses?: unknown }[] })
          .subsets;
        parsed.subsets.forEach((subset, s) => {
          for (const p of subset.ports) expect(isPort(p.port!)).toBe(true);
          // Subsets are parsed in order, the ready addresses first.
          const raw = rawSubsets[s]!;
          const written = [
            ...writtenAddresses(raw.addresses, 'ip'),
            ...writtenAddresses(raw.notReadyAddresses, 'ip'),
          ];
          expect(subset.records).toHaveLength(written.length);
          subset.records.forEach((r, i) => {
            expectSaneRecord(r, written[i]);
          });
        });
        const aggregator = new V1EndpointsAggregator({ namespace: NS, service: SVC, port: 'http' });
        aggregator.set(parsed);
        const declared = parsed.subsets.some((s) => s.ports.length > 0);
        if (declared && !parsed.subsets.some((s) => s.ports.some((p) => p.name === 'http'))) {
          // Ports declared, none of them the one asked for: said, not an empty set forever.
          expect(() => aggregator.snapshot()).toThrow(PortSelectionError);
          return;
        }
        const set = aggregator.snapshot();
        const addresses = parsed.subsets.flatMap((s) =>
          s.ports.some((p) => p.name === 'http') ? s.records : [],
        );
        // Every address of a subset with the port is in the set, deduplicated by address.
        expect(new Set(set?.all.map((e) => e.address))).toEqual(new Set(addresses.map((r) => r.address)));
      }),
      {
        numRuns: runs,
        // Not found by the generator (it needs a protocol 'TCP#2' beside two equal port lists): kept
        // as a regression example since a review of subsetName found it.
        examples: [[undefined, V1_NAME_CLASH]],
      },
    );
    expect(accepted).toBeGreaterThan(runs / 10);
  });

  it('EndpointSliceAggregator: a refused object changes nothing, and the rest still gives the reference union', () => {
    fc.assert(
      fc.property(
        portOption,
        fc.array(hostileOpArb, { maxLength: 30 }),
        fc.uniqueArray(sliceArb, { selector: (s) => s.name, maxLength: NAMES.length }),
        (port, history, final) => {
          const o = new Observer(new EndpointSliceAggregator(options(port)));
          for (const op of history) {
            if (op.op !== 'corrupt') {
              run(o, op);
              continue;
            }
            const before = o.poll();
            const bad = CORRUPTIONS[op.how]!(raw(op.slice));
            expect(refused(() => (op.inReset ? o.agg.reset([raw(op.slice), bad]) : o.agg.upsert(bad)))).toBe(
              true,
            );
            expectUnchanged(o, before);
          }
          const finalByName = new Map(final.map((s) => [s.name, s]));
          for (const name of NAMES) {
            const s = finalByName.get(name);
            run(o, s === undefined ? { op: 'remove', name } : { op: 'upsert', slice: s });
          }
          expect(o.poll()).toEqual(reference(final, port));
        },
      ),
      { numRuns: fuzzRuns(400) },
    );
  });

  it('remove() of anything that is not a named object is an InvalidObjectError that changes nothing', () => {
    fc.assert(
      fc.property(fc.array(sliceArb, { maxLength: 4 }), fc.anything({ maxDepth: 2 }), (slices, junk) => {
        const o = new Observer(new EndpointSliceAggregator(options('http')));
        for (const s of slices) o.agg.upsert(raw(s));
        const before = o.poll();
        if (refused(() => o.agg.remove(junk))) expectUnchanged(o, before);
        else expect((junk as { metadata: { name: unknown } }).metadata.name).toEqual(expect.any(String));
      }),
      { numRuns: fuzzRuns(500) },
    );
  });

  it('duplicate and conflicting copies of one endpoint across 50 slices: one endpoint, the best copy', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            ready: fc.boolean(),
            serving: fc.boolean(),
            terminating: fc.boolean(),
            port: fc.constantFrom(80, 81),
          }),
          { minLength: 1, maxLength: 50 },
        ),
        (copies) => {
          const agg = new EndpointSliceAggregator({ namespace: NS, service: SVC, port: 'http' });
          agg.reset(
            copies.map((c, i) =>
              slice(`s${String(i).padStart(2, '0')}`, [{ addresses: ['10.0.0.1'], conditions: c }], {
                ports: [{ name: 'http', port: c.port }],
              }),
            ),
          );
          const set = agg.snapshot() as EndpointSet;
          for (const port of [80, 81]) {
            const of = copies.filter((c) => c.port === port);
            const got = set.all.filter((e) => e.port === port);
            expect(got).toHaveLength(of.length === 0 ? 0 : 1);
            if (of.length === 0) continue;
            const rank = (c: { ready: boolean; terminating: boolean }) =>
              (c.terminating ? 2 : 0) + (c.ready ? 0 : 1);
            const best = Math.min(...of.map(rank));
            expect(rank(got[0]!)).toBe(best);
          }
        },
      ),
      { numRuns: fuzzRuns(300) },
    );
  });

  it('1000 endpoints in one slice, the last one broken: refused, and the previous set stays', () => {
    const agg = new EndpointSliceAggregator({ namespace: NS, service: SVC });
    const endpoints = Array.from({ length: 1000 }, (_, i) => ({ addresses: [`10.${i >> 8}.${i & 255}.1`] }));
    agg.upsert(slice('big', endpoints));
    const set = agg.snapshot() as EndpointSet;
    expect(set.all).toHaveLength(1000);
    endpoints[999] = { addresses: [null as never] };
    expect(() => agg.upsert(slice('big', endpoints))).toThrow(/endpoints\[999\]\.addresses/);
    expect(agg.snapshot()).toBeUndefined();
  });
});
