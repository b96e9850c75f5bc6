import { type EndpointSliceSpec, endpointSlice, seededRandom } from '@endpoint-watch/testing';
import { describe, expect, it } from 'vitest';
import { Churn } from '../src/model/churn.js';
import { stateKey, stateOf, trueState } from '../src/model/reference.js';
import { TruthTimeline } from '../src/model/truth.js';

const target = { namespace: 'ns', service: 'web', portName: 'http' };
const slice = (
  name: string,
  endpoints: EndpointSliceSpec['endpoints'],
  extra: Partial<EndpointSliceSpec> = {},
) => endpointSlice({ namespace: 'ns', service: 'web', name, endpoints, ...extra });

describe('trueState (the reference model)', () => {
  it('reads nil conditions as ready, serving, not terminating', () => {
    const state = trueState([slice('a', [{ addresses: '10.0.0.1' }])], target);
    expect(state).toEqual({
      all: ['10.0.0.1:8080 ready serving'],
      endpoints: ['10.0.0.1:8080 ready serving'],
    });
    const omitted = trueState([slice('a', [{ addresses: '10.0.0.1' }], { omitConditions: true })], target);
    expect(omitted).toEqual(state);
  });

  it('unions slices and keeps one copy per address:port: not terminating first, then ready', () => {
    const state = trueState(
      [
        slice('a', [
          { addresses: '10.0.0.1', ready: false, serving: true, terminating: true },
          { addresses: '10.0.0.2', ready: false, serving: false },
        ]),
        slice('b', [
          { addresses: '10.0.0.1', ready: false, serving: false, terminating: false },
          { addresses: '10.0.0.2', ready: true },
          { addresses: '10.0.0.3' },
        ]),
      ],
      target,
    );
    expect(state.all).toEqual([
      // The terminating copy loses to the one that is not, although that one is not even serving.
      '10.0.0.1:8080',
      '10.0.0.2:8080 ready serving',
      '10.0.0.3:8080 ready serving',
    ]);
    expect(state.endpoints).toEqual(['10.0.0.2:8080 ready serving', '10.0.0.3:8080 ready serving']);
  });

  it('falls back to the serving and terminating endpoints when none is ready', () => {
    const state = trueState(
      [
        slice('a', [
          { addresses: '10.0.0.1', ready: false, serving: true, terminating: true },
          { addresses: '10.0.0.2', ready: false, serving: false, terminating: true },
        ]),
      ],
      target,
    );
    expect(state.endpoints).toEqual(['10.0.0.1:8080 serving terminating']);
  });

  it('selects the port by name (the number may differ per slice) and ignores other Services and namespaces', () => {
    const state = trueState(
      [
        slice('a', [{ addresses: '10.0.0.1' }]),
        slice('b', [{ addresses: '10.0.0.1' }], { ports: [{ name: 'http', port: 9090 }] }),
        slice('c', [{ addresses: '10.0.0.9' }], { ports: [{ name: 'grpc', port: 8080 }] }),
        endpointSlice({ namespace: 'ns', service: 'other', endpoints: [{ addresses: '10.0.0.7' }] }),
        endpointSlice({ namespace: 'elsewhere', service: 'web', endpoints: [{ addresses: '10.0.0.8' }] }),
      ],
      target,
    );
    expect(state.all).toEqual(['10.0.0.1:8080 ready serving', '10.0.0.1:9090 ready serving']);
  });

  it('is empty for no slices, empty slices and placeholder slices (endpoints: null)', () => {
    const placeholder = { ...slice('p', []), endpoints: null };
    for (const slices of [[], [slice('a', [])], [placeholder]]) {
      expect(trueState(slices, target)).toEqual({ all: [], endpoints: [] });
    }
  });

  it('gives the SDK-shaped endpoints of a set the same canonical form', () => {
    const fromSet = stateOf([
      { address: '10.0.0.2', port: 80, ready: true, serving: true, terminating: false },
      { address: '10.0.0.1', port: 80, ready: false, serving: true, terminating: true },
    ]);
    expect(stateKey(fromSet)).toBe(
      '[10.0.0.1:80 serving terminating, 10.0.0.2:80 ready serving] -> [10.0.0.2:80 ready serving]',
    );
  });
});

describe('TruthTimeline', () => {
  const state = (n: number) => ({
    all: [`10.0.0.${n}:80 ready serving`],
    endpoints: [`10.0.0.${n}:80 ready serving`],
  });

  it('answers the state at any resourceVersion from the one it began at', () => {
    const truth = new TruthTimeline();
    truth.record(10, state(1));
    truth.record(12, state(1)); // unchanged: nothing new
    truth.record(15, state(2));
    expect(truth.size).toBe(2);
    expect(truth.at(9)).toBeUndefined();
    expect(truth.at(10)?.state).toEqual(state(1));
    expect(truth.at(14)?.state).toEqual(state(1));
    expect(truth.at(15)?.state).toEqual(state(2));
    expect(truth.at(1000)?.state).toEqual(state(2));
    expect(() => truth.record(11, state(3))).toThrow(/after 15/);
  });

  it('forgets only states nobody can show any more', () => {
    const truth = new TruthTimeline();
    for (let rv = 1; rv <= 5; rv++) truth.record(rv * 10, state(rv));
    truth.forgetBefore(5);
    expect(truth.size).toBe(5);
    truth.forgetBefore(35);
    expect(truth.at(35)?.state).toEqual(state(3));
    expect(truth.at(29)).toBeUndefined();
    truth.forgetBefore(1000);
    expect(truth.size).toBe(1);
    expect(truth.latest?.state).toEqual(state(5));
  });
});

describe('Churn (the mutator)', () => {
  const services = [
    {
      name: 'web',
      addresses: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'],
      port: 8080,
    },
    {
      name: 'pods',
      addresses: ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'],
      port: 1234,
      minReady: 4,
    },
  ];

  /** Runs `steps` mutations, applying them to a plain list of slices, checking every state on the way. */
  function churn(
    seed: number,
    steps: number,
    check: (slices: ReturnType<typeof endpointSlice>[], what: string) => void,
  ) {
    const c = new Churn(seededRandom(seed), 'ns', services);
    const slices = new Map<string, ReturnType<typeof endpointSlice>>();
    const whats: string[] = [];
    for (const mutation of [...c.initial(), ...Array.from({ length: steps }, () => c.next())]) {
      whats.push(mutation.what);
      for (const write of mutation.writes) {
        if (write.kind === 'upsert') slices.set(write.spec.name!, endpointSlice(write.spec));
        else slices.delete(write.name);
        check([...slices.values()], mutation.what);
      }
    }
    return whats;
  }

  it('is the same for the same seed', () => {
    expect(churn(7, 200, () => {})).toEqual(churn(7, 200, () => {}));
    expect(churn(7, 200, () => {})).not.toEqual(churn(8, 200, () => {}));
  });

  it('scales to zero and back, rewrites, deletes, batches and duplicates addresses across slices', () => {
    let duplicates = 0;
    let zero = 0;
    let otherPort = 0;
    const whats = churn(1, 2000, (slices) => {
      const web = trueState(slices, { namespace: 'ns', service: 'web', portName: 'http' });
      if (web.all.length === 0) zero++;
      if (web.all.some((e) => e.includes(':8081'))) otherPort++;
      const seen = slices
        .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'web')
        .flatMap((s) => (s.endpoints ?? []).flatMap((e) => e.addresses));
      if (new Set(seen).size < seen.length) duplicates++;
    });
    expect(new Set(whats)).toEqual(
      new Set([
        'create',
        'add a slice',
        'delete a slice',
        'scale to zero (empty slices)',
        'scale to zero (no slices)',
        'rewrite slices in one batch',
        'flip conditions',
        'rewrite a slice',
      ]),
    );
    expect(zero).toBeGreaterThan(0);
    expect(duplicates).toBeGreaterThan(100);
    expect(otherPort).toBeGreaterThan(0);
  });

  it('never lets a Service with minReady drop below it, not even between the writes of a batch', () => {
    const states = new Set<string>();
    const whats = churn(3, 2000, (slices) => {
      const pods = trueState(slices, { namespace: 'ns', service: 'pods', portName: 'http' });
      if (!slices.some((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'pods')) return;
      states.add(pods.all.join());
      expect(pods.all.filter((e) => e.includes(' ready')).length).toBeGreaterThanOrEqual(4);
    });
    // It still changes (of the 21 states with 4 of 5 ready, most show up), and few steps find nothing to do.
    expect(states.size).toBeGreaterThan(12);
    expect(whats.filter((w) => w.startsWith('nothing')).length).toBeLessThan(whats.length / 10);
  });
});
