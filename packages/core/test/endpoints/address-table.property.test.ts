import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddressTable, keyHash } from '../../src/endpoints/address-table.js';
import { EntryColumns } from '../../src/endpoints/entry-columns.js';
import type { Endpoint } from '../../src/endpoints/types.js';

// The dedupe table against a Map, under hashes chosen to collide: few distinct hash values, some of
// them at the end of the slots so that runs wrap around, and more keys than the first table holds
// (it grows). Removals in any order exercise the backward shift that keeps every key findable.
const endpoint = (address: string, port: number) => ({ address, port }) as Endpoint;
const ADDRESSES = Array.from({ length: 24 }, (_, i) => `10.0.0.${i}`);
const key = fc.record({ address: fc.constantFrom(...ADDRESSES), port: fc.constantFrom(80, 443) });
const op = fc.record({ kind: fc.constantFrom('insert', 'remove', 'replace'), key });

describe('AddressTable (property)', () => {
  it('finds exactly the keys a Map holds, whatever the collisions, growth and removals', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(0, 1, 2, 14, 15, 31, 0x7fffffff, -1), { minLength: 48, maxLength: 48 }),
        fc.array(op, { maxLength: 120 }),
        (hashes, ops) => {
          const entries = new EntryColumns();
          const table = new AddressTable(entries);
          const model = new Map<string, number>();
          const hashOf = (k: { address: string; port: number }) =>
            hashes[ADDRESSES.indexOf(k.address) * 2 + (k.port === 80 ? 0 : 1)]!;
          for (const { kind, key: k } of ops) {
            const name = `${k.port} ${k.address}`;
            const held = model.get(name);
            if (kind === 'insert' && held === undefined) {
              const id = entries.alloc(0, endpoint(k.address, k.port));
              entries.hash[id] = hashOf(k);
              table.insert(id);
              model.set(name, id);
            } else if (kind === 'remove' && held !== undefined) {
              table.remove(held);
              entries.release(held);
              model.delete(name);
            } else if (kind === 'replace' && held !== undefined) {
              // Another copy of the same key becomes the first one.
              const id = entries.alloc(0, endpoint(k.address, k.port));
              entries.hash[id] = hashOf(k);
              table.replace(held, id);
              entries.release(held);
              model.set(name, id);
            }
            for (const address of ADDRESSES) {
              for (const port of [80, 443]) {
                const want = model.get(`${port} ${address}`) ?? -1;
                expect(table.find(port, address, hashOf({ address, port }))).toBe(want);
              }
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('hashes the port and every character of the address', () => {
    expect(keyHash(80, '10.0.0.1')).not.toBe(keyHash(81, '10.0.0.1'));
    expect(keyHash(80, '10.0.0.1')).not.toBe(keyHash(80, '10.0.0.2'));
    expect(keyHash(80, '10.0.0.1')).not.toBe(keyHash(80, '0.0.0.11'));
    expect(keyHash(80, '10.0.0.1')).toBe(keyHash(80, '10.0.0.1'));
  });
});
