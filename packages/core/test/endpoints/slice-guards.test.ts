import { describe, expect, it } from 'vitest';
import { SliceEndpointSchema, SliceShellSchema } from '../../src/endpoints/endpointslice-parser.js';
import { isValidSliceEndpoint, isValidSliceShell } from '../../src/endpoints/slice-guards.js';
import {
  sliceEndpointLike as endpointLike,
  expectSchemaTwin,
  sliceShellLike as shellLike,
} from '../support/json-arbitraries.js';

describe('isValidSliceEndpoint', () => {
  it('agrees with the zod schema on any endpoint-like value', () => {
    expectSchemaTwin(isValidSliceEndpoint, SliceEndpointSchema, endpointLike);
  });

  it('accepts a realistic entry and rejects one without addresses', () => {
    const entry = {
      addresses: ['10.0.0.1'],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: 'node-1',
      zone: 'zone-a',
      targetRef: { kind: 'Pod', namespace: 'default', name: 'web-1', uid: 'u' },
      hints: { forZones: [{ name: 'zone-a' }] },
    };
    expect(isValidSliceEndpoint(entry)).toBe(true);
    expect(isValidSliceEndpoint({ ...entry, addresses: [] })).toBe(false);
    expect(isValidSliceEndpoint({ ...entry, conditions: { ready: 'yes' } })).toBe(false);
  });
});

describe('isValidSliceShell', () => {
  it('agrees with the zod schema on any slice-like value', () => {
    expectSchemaTwin(isValidSliceShell, SliceShellSchema, shellLike);
  });
});
