/**
 * The dedupe table of the endpoint index: address:port → the first of its copies (an entry id; the
 * other copies hang off it through `EntryColumns.next`). Open addressing with linear probing in one
 * `Int32Array`, keys compared through the entries' Endpoints: 5–11 bytes per address:port, where a
 * `Map` keyed by address cost ~46 (and a `Map` per port).
 */
import type { EntryColumns } from './entry-columns.js';

/** FNV-1a over the address's UTF-16 code units, seeded with the port. */
export function keyHash(port: number, address: string): number {
  let h = Math.imul(0x811c9dc5 ^ port, 0x01000193);
  for (let i = 0; i < address.length; i++) h = Math.imul(h ^ address.charCodeAt(i), 0x01000193);
  // Final avalanche: linear probing takes the low bits.
  h ^= h >>> 16;
  h = Math.imul(h, 0x45d9f3b);
  return h ^ (h >>> 16);
}

const MIN_SLOTS = 16;
/** Grow when more than 7 in 10 slots are taken. */
const MAX_LOAD = 0.7;

export class AddressTable {
  readonly #entries: EntryColumns;
  /** id + 1 of a key's first copy; 0 is an empty slot. */
  #slots = new Int32Array(MIN_SLOTS);
  #mask = MIN_SLOTS - 1;
  #count = 0;

  constructor(entries: EntryColumns) {
    this.#entries = entries;
  }

  /** The first copy of port:address (an entry id), or -1. */
  find(port: number, address: string, hash: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    const entries = this.#entries;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = slots[i]!;
      if (slot === 0) return -1;
      const id = slot - 1;
      if (entries.hash[id] === hash) {
        const ep = entries.endpoint[id]!;
        if (ep.address === address && ep.port === port) return id;
      }
    }
  }

  /** Adds the first copy of a key not in the table; its hash is `entries.hash[id]`. */
  insert(id: number): void {
    if (this.#count + 1 > (this.#mask + 1) * MAX_LOAD) this.#resize((this.#mask + 1) * 2);
    this.#place(id);
    this.#count++;
  }

  /** `next` takes the slot of `id` (same key): the first copy changes. */
  replace(id: number, next: number): void {
    this.#slots[this.#slotOf(id)] = next + 1;
  }

  /** Removes the key whose first copy is `id`. */
  remove(id: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    const hash = this.#entries.hash;
    // Backward-shift deletion: later slots of the run move up when the gap is on their probe path.
    let gap = this.#slotOf(id);
    for (let i = (gap + 1) & mask; ; i = (i + 1) & mask) {
      const slot = slots[i]!;
      if (slot === 0) break;
      const home = hash[slot - 1]! & mask;
      // Stays unless its home is cyclically outside (gap, i].
      const stays = gap <= i ? gap < home && home <= i : gap < home || home <= i;
      if (!stays) {
        slots[gap] = slot;
        gap = i;
      }
    }
    slots[gap] = 0;
    this.#count--;
  }

  /** Empties the table; `expected` keys are about to be inserted. */
  clear(expected = 0): void {
    this.#slots = new Int32Array(slotsFor(expected));
    this.#mask = this.#slots.length - 1;
    this.#count = 0;
  }

  /** Makes room for `more` keys at once. */
  reserve(more: number): void {
    const slots = slotsFor(this.#count + more);
    if (slots > this.#slots.length) this.#resize(slots);
  }

  #slotOf(id: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    for (let i = this.#entries.hash[id]! & mask; ; i = (i + 1) & mask) {
      if (slots[i] === id + 1) return i;
    }
  }

  #place(id: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = this.#entries.hash[id]! & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = id + 1;
  }

  #resize(size: number): void {
    const old = this.#slots;
    this.#slots = new Int32Array(size);
    this.#mask = size - 1;
    for (const slot of old) if (slot !== 0) this.#place(slot - 1);
  }
}

function slotsFor(keys: number): number {
  let size = MIN_SLOTS;
  while (keys > size * MAX_LOAD) size *= 2;
  return size;
}
