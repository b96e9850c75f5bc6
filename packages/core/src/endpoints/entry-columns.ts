/**
 * The endpoint index's per-entry state, column-wise: an entry is an integer id, and what the index
 * knows of it lives at that id in a few arrays (its Endpoint for the followed port, its group, its
 * key's hash, the next copy of its address:port, two flags). One pointer and 13 bytes per entry,
 * where an object per entry cost 72 bytes and an allocation the GC then had to copy and promote.
 * Freed ids are reused (a free list threaded through `next`), so the columns stay as large as the
 * largest number of entries held at once.
 */
import type { Endpoint } from './types.js';

/** In the dedupe table, under its Endpoint's port and address. */
export const INDEXED = 1;
/** The chosen copy of its address:port (in the sets). */
export const WINNER = 2;

const NONE = -1;

export class EntryColumns {
  /** The entry's Endpoint for its group's port (its record until the group is bound to a port). */
  endpoint: (Endpoint | undefined)[] = [];
  /** The entry's group, by the group's number. */
  group = new Int32Array(0);
  /** The hash of the entry's address:port (set when indexed). */
  hash = new Int32Array(0);
  /** The next copy of the same address:port (NONE at the end); for a free id, the next free id. */
  next = new Int32Array(0);
  flags = new Uint8Array(0);
  #size = 0;
  #free = NONE;
  #live = 0;

  /** Entries in use. */
  get live(): number {
    return this.#live;
  }

  /** Makes room for `count` more entries at once (one growth instead of several). */
  reserve(count: number): void {
    const needed = this.#live + count;
    if (needed > this.group.length) this.#grow(needed);
  }

  alloc(group: number, endpoint: Endpoint): number {
    let id = this.#free;
    if (id !== NONE) {
      this.#free = this.next[id]!;
    } else {
      id = this.#size++;
      if (id >= this.group.length) this.#grow(id + 1);
    }
    this.#live++;
    this.endpoint[id] = endpoint;
    this.group[id] = group;
    this.next[id] = NONE;
    this.flags[id] = 0;
    return id;
  }

  /** Gives the id back (the entry must no longer be indexed). */
  release(id: number): void {
    this.endpoint[id] = undefined;
    this.flags[id] = 0;
    this.next[id] = this.#free;
    this.#free = id;
    this.#live--;
  }

  #grow(needed: number): void {
    const capacity = Math.max(needed, Math.ceil(this.group.length * 1.5), 64);
    this.group = copyInto(new Int32Array(capacity), this.group);
    this.hash = copyInto(new Int32Array(capacity), this.hash);
    this.next = copyInto(new Int32Array(capacity), this.next);
    this.flags = copyInto(new Uint8Array(capacity), this.flags);
  }
}

function copyInto<T extends Int32Array | Uint8Array>(to: T, from: T): T {
  to.set(from);
  return to;
}

export { NONE as NO_ENTRY };
