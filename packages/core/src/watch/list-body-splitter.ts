import { Buffer } from 'node:buffer';

/**
 * Splits the bytes of a LIST body (`{"kind":…,"metadata":{…},"items":[{…},{…}]}`) as they arrive:
 * each element of the top-level `items` array comes out as its JSON text as soon as it is known to
 * be complete, so that it can be parsed and transformed while the rest of the body is still on the
 * wire. Everything else (the top-level object with `"items":[]`) is kept as the skeleton, to be
 * parsed once the body has ended; members may come before or after `items`.
 *
 * Pure (no I/O). Two ways to find an element's end:
 * - a byte loop that tracks only whether it is inside a string (a `\` escapes the byte after it,
 *   across chunks too) and the bracket depth outside strings: for the first element, the last one,
 *   the top level, and any layout the second way does not fit;
 * - for the elements in between (nearly all the bytes), a native search for the boundary the first
 *   element showed (`},{"metadata":` for the apiserver's lists): see `#skipTo`.
 *
 * It does not validate the elements: the caller `JSON.parse`s each text, and must `abandon()` on
 * the first that does not parse. A text that starts at an element's `{` and parses as one object
 * ends exactly where the element does; with the separators checked here and the skeleton parsed
 * at the end, that proves the whole body valid. Whenever the body is not shaped as expected (the
 * top level is not an object, `items` is not an array of objects, a second `items`, a top-level key
 * with escapes, bad separators, the body ends early) the splitter falls back: it stops splitting and
 * the caller parses `wholeBody()` as before, which gives exactly the result, or the error, it always
 * gave. For that it keeps every chunk it was fed until the end (the body's bytes, which a
 * whole-body read holds too).
 */
export class ListBodySplitter {
  #phase: Phase = Phase.Start;
  /** Every chunk fed, for the fallback. */
  readonly #chunks: Uint8Array[] = [];
  #length = 0;
  /** The bytes outside the items array's content, in order. */
  readonly #skeleton: Uint8Array[] = [];
  /** Inside a string (of any phase), and whether its next byte is escaped (a chunk ended on a `\` that escapes it). */
  #inString = false;
  #escaped = false;
  /** Bracket depth: of the top-level value (phases Top/End), or of the current element (Item). */
  #depth = 0;
  /** Top level, depth 1: the next string is a key. */
  #expectKey = false;
  /** The top-level key being read, when it spans chunks (latin1 of its bytes so far). */
  #keyHead = '';
  /** Where the top-level key being read starts in the current chunk (-1: an earlier chunk; -2: not a key). */
  #keyStart = -2;
  /** Top level: 0, or 1 after the key `items` (awaiting `:`), 2 after its `:` (awaiting `[`). */
  #afterItemsKey = 0;
  #seenItems = false;
  /** Items array: what may come next (an element or `]`; a separator or `]`; an element only). */
  #expect: Expect = Expect.ElementOrEnd;
  /** Whether the first element has been seen (and `#needle` learned from it, if it could be). */
  #learned = false;
  /** `},` and the start of the first element (`},{"metadata":`): how the next ones are found. */
  #needle: Buffer | undefined;
  /** Skipping (`#skipTo`): the bytes since the current element's `{`, and how far they were searched. */
  #pending: Buffer | undefined;
  #searched = 0;
  /** The current element's bytes from earlier chunks. */
  #itemHead: Uint8Array[] = [];

  /** True once the body is known not to be split (see the class comment); `wholeBody()` then. */
  get fallenBack(): boolean {
    return this.#phase === Phase.Fallback;
  }

  /** Scans one chunk; returns the JSON text of every element completed in it, in order. */
  feed(chunk: Uint8Array): string[] {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    const items: string[] = [];
    if (this.#phase === Phase.Fallback) return items;
    const bytes = asBuffer(chunk);
    if (this.#pending === undefined) this.#scan(bytes, items);
    else this.#skipTo(bytes, items);
    return items;
  }

  /** The state machine over `bytes`, byte by byte outside strings; completed elements go to `items`. */
  #scan(bytes: Buffer, items: string[]): void {
    const n = bytes.length;
    let i = 0;
    /** Where this chunk's current skeleton segment starts (outside the items content). */
    let segment = 0;
    /** Where the current element starts in this chunk (-1: it started in an earlier one). */
    let itemStart = this.#phase === Phase.Item ? -1 : 0;
    while (i < n) {
      const phase = this.#phase;
      if (phase === Phase.Item) {
        // The hot loop: inside an element, only strings and brackets matter.
        let depth = this.#depth;
        if (this.#inString) i = this.#skipString(bytes, i, n);
        for (; i < n; i++) {
          const c = bytes[i]!;
          if (c === QUOTE) {
            // `#skipString` inlined by hand (most bytes are here): to the closing quote, a `\` skipping the byte after it.
            for (i++; i < n; i++) {
              const d = bytes[i]!;
              if (d === QUOTE) break;
              if (d === BACKSLASH) i++;
            }
            if (i >= n) {
              // The string goes on in the next chunk; past `n`, a final `\` escapes its first byte.
              this.#inString = true;
              this.#escaped = i > n;
              break;
            }
          } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
            depth++;
          } else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) {
            const text = this.#itemText(bytes, itemStart, i + 1);
            items.push(text);
            if (!this.#learned) this.#learn(text);
            this.#phase = Phase.Items;
            this.#expect = Expect.SeparatorOrEnd;
            i++;
            break;
          }
        }
        this.#depth = depth;
        continue;
      }
      if (phase === Phase.Items) {
        const c = bytes[i]!;
        if (isWhitespace(c)) {
          i++;
        } else if (c === OPEN_BRACE && this.#expect === Expect.Element && this.#needle !== undefined) {
          // A later element, its layout known: jump from boundary to boundary (see `#skipTo`).
          this.#phase = Phase.Item;
          this.#pending = bytes.subarray(i);
          this.#searched = 0;
          this.#skipTo(undefined, items);
          return;
        } else if (c === OPEN_BRACE && this.#expect !== Expect.SeparatorOrEnd) {
          this.#phase = Phase.Item;
          this.#depth = 1;
          itemStart = i;
          i++;
        } else if (c === COMMA && this.#expect === Expect.SeparatorOrEnd) {
          this.#expect = Expect.Element;
          i++;
        } else if (c === CLOSE_BRACKET && this.#expect !== Expect.Element) {
          // Back to the top level, at the depth of the `items` member.
          this.#phase = Phase.Top;
          this.#depth = 1;
          segment = i;
          i++;
        } else {
          this.#fallBack(items);
          return;
        }
        continue;
      }
      if (this.#inString) {
        i = this.#topLevelString(bytes, i, n);
        if (this.fallenBack) {
          this.#fallBack(items);
          return;
        }
        continue;
      }
      const c = bytes[i]!;
      if (isWhitespace(c)) {
        i++;
        continue;
      }
      if (phase === Phase.Start) {
        if (c !== OPEN_BRACE) {
          this.#fallBack(items);
          return;
        }
        this.#phase = Phase.Top;
        this.#depth = 1;
        this.#expectKey = true;
        i++;
        continue;
      }
      if (phase === Phase.End) {
        // Only whitespace may follow the top-level object; let the whole-body parse say what else is wrong.
        this.#fallBack(items);
        return;
      }
      // Phase.Top: the top-level object's own members (not the items content).
      if (this.#afterItemsKey === 1) {
        if (c !== COLON) {
          this.#fallBack(items);
          return;
        }
        this.#afterItemsKey = 2;
        i++;
        continue;
      }
      if (this.#afterItemsKey === 2) {
        if (c !== OPEN_BRACKET) {
          this.#fallBack(items);
          return;
        }
        this.#afterItemsKey = 0;
        this.#seenItems = true;
        this.#skeleton.push(bytes.subarray(segment, i + 1));
        this.#phase = Phase.Items;
        this.#expect = Expect.ElementOrEnd;
        i++;
        continue;
      }
      if (c === QUOTE) {
        this.#inString = true;
        this.#escaped = false;
        this.#keyStart = this.#depth === 1 && this.#expectKey ? i + 1 : -2;
        this.#keyHead = '';
        i = this.#topLevelString(bytes, i + 1, n);
        if (this.fallenBack) {
          this.#fallBack(items);
          return;
        }
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        this.#depth++;
        i++;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (--this.#depth === 0) this.#phase = Phase.End;
        i++;
      } else {
        if (c === COMMA && this.#depth === 1) this.#expectKey = true;
        i++;
      }
    }
    const phase = this.#phase;
    if (phase === Phase.Item) {
      // The element goes on in the next chunk.
      this.#keepItemHead(bytes, itemStart === -1 ? 0 : itemStart);
    } else if (phase !== Phase.Items && segment < n) {
      this.#skeleton.push(bytes.subarray(segment, n));
    }
  }

  /**
   * Between the first element and the last, where nearly all the bytes are: instead of a byte loop,
   * a native search for the boundary the first element showed, `},` followed by the way it began
   * (`},{"metadata":` for the apiserver's lists), over the bytes since the current element began
   * (`#pending`, which starts at its `{`). A match is only a candidate (the same bytes may sit in a
   * string): the caller's `JSON.parse` of the element's text settles it, since text that starts at
   * the element's `{` and parses as one object ends exactly where the element does; one that does
   * not parse makes the caller abandon the split. Bytes that never match (another layout, or the
   * last element, followed by `]`) go back to the byte loop, past a bound or at the end.
   */
  #skipTo(bytes: Buffer | undefined, items: string[]): void {
    let pending = this.#pending!;
    if (bytes !== undefined) pending = pending.length === 0 ? bytes : Buffer.concat([pending, bytes]);
    const needle = this.#needle!;
    let from = this.#searched;
    for (;;) {
      const at = pending.indexOf(needle, from);
      if (at === -1) break;
      items.push(pending.toString('utf8', 0, at + 1));
      // The next element starts after the `,`.
      pending = pending.subarray(at + 2);
      from = 0;
    }
    const searched = pending.length - needle.length + 1;
    this.#searched = Math.max(searched, 0);
    this.#pending = pending;
    if (pending.length > MAX_SKIPPED_BYTES) this.#backToScan(items);
  }

  /** Leaves `#skipTo` for good: the bytes since the current element began go through the byte loop. */
  #backToScan(items: string[]): void {
    const pending = this.#pending!;
    this.#pending = undefined;
    this.#needle = undefined;
    this.#phase = Phase.Items;
    this.#expect = Expect.Element;
    this.#scan(pending, items);
  }

  /**
   * From the first element's text, the boundary of the next ones: `},` and its start up to its
   * first key's colon, when that key is plain (no escape) and the colon follows it at once.
   */
  #learn(text: string): void {
    this.#learned = true;
    if (text.charCodeAt(0) !== OPEN_BRACE || text.charCodeAt(1) !== QUOTE) return;
    const close = text.indexOf('"', 2);
    if (
      close < 0 ||
      close > 64 ||
      text.charCodeAt(close + 1) !== COLON ||
      text.lastIndexOf('\\', close) !== -1
    )
      return;
    this.#needle = Buffer.from(`},${text.slice(0, close + 2)}`, 'utf8');
  }

  /**
   * The body has ended: the top-level object without its items' content (`"items":[]`), as text, or
   * undefined when the splitter fell back or the body ended inside the object (then the caller
   * parses `wholeBody()`, which fails as it always did).
   */
  end(): { readonly items: string[]; readonly skeleton: string } | undefined {
    const items: string[] = [];
    if (this.#pending !== undefined && !this.fallenBack) this.#backToScan(items);
    if (this.#phase !== Phase.End || !this.#seenItems) {
      this.#fallBack(items);
      return undefined;
    }
    return { items, skeleton: Buffer.concat(this.#skeleton).toString('utf8') };
  }

  /** Gives up splitting (the caller found an element that does not parse): `wholeBody()` decides. */
  abandon(): void {
    this.#phase = Phase.Fallback;
  }

  /** Every byte fed so far, as one buffer. */
  wholeBody(): Buffer {
    return Buffer.concat(this.#chunks, this.#length);
  }

  #fallBack(items: string[]): void {
    this.#phase = Phase.Fallback;
    this.#itemHead = [];
    this.#pending = undefined;
    items.length = 0;
  }

  /**
   * Inside a string outside the items content: skips it, and when it was a top-level key, notes
   * what follows it (`items`: its array comes next) or falls back (a second `items`, an escape).
   */
  #topLevelString(bytes: Buffer, from: number, n: number): number {
    const end = this.#skipString(bytes, from, n);
    const keyStart = this.#keyStart;
    if (keyStart === -2) return end;
    if (this.#inString) {
      // The key continues in the next chunk.
      this.#keyHead += bytes.toString('latin1', keyStart === -1 ? 0 : keyStart, n);
      this.#keyStart = -1;
      return end;
    }
    const key = this.#keyHead + bytes.toString('latin1', keyStart === -1 ? 0 : keyStart, end - 1);
    this.#keyHead = '';
    this.#keyStart = -2;
    this.#expectKey = false;
    // An escape could spell `items` (`\u0069tems`): never guess.
    if (key.includes('\\') || (key === 'items' && this.#seenItems)) this.#phase = Phase.Fallback;
    else if (key === 'items') this.#afterItemsKey = 1;
    return end;
  }

  /**
   * From inside a string at `from`: the index just after its closing quote, or `n` (then
   * `#inString` stays set, and `#escaped` says whether the chunk ended on a `\` whose escaped byte
   * is the next chunk's first). A byte loop: strings here average ~7 bytes, where it measured
   * faster than `indexOf('"')` plus a count of the backslashes before each quote (3.6 vs 4.0 ms
   * for a 3.1 MB list of 10k endpoints).
   */
  #skipString(bytes: Buffer, from: number, n: number): number {
    let i = from;
    if (this.#escaped) {
      if (i >= n) return n;
      this.#escaped = false;
      i++;
    }
    for (; i < n; i++) {
      const c = bytes[i]!;
      if (c === QUOTE) {
        this.#inString = false;
        return i + 1;
      }
      if (c === BACKSLASH && ++i === n) {
        this.#escaped = true;
        break;
      }
    }
    this.#inString = true;
    return n;
  }

  /**
   * Keeps the start of an element that goes on in the next chunk. Not inlined into `feed`: there,
   * `subarray` with the chunk's length deoptimized the whole loop again and again ("not a Smi").
   */
  #keepItemHead(bytes: Buffer, start: number): void {
    this.#itemHead.push(start === 0 ? bytes : bytes.subarray(start));
  }

  /** The element's text: its bytes from earlier chunks (if any) and this chunk's up to `end`. */
  #itemText(bytes: Buffer, start: number, end: number): string {
    if (start >= 0) return bytes.toString('utf8', start, end);
    const head = this.#itemHead;
    this.#itemHead = [];
    head.push(bytes.subarray(0, end));
    return Buffer.concat(head).toString('utf8');
  }
}

enum Phase {
  /** Before the top-level value. */
  Start,
  /** Inside the top-level object, outside the items content. */
  Top,
  /** Inside the items array, between elements. */
  Items,
  /** Inside an element of the items array. */
  Item,
  /** After the top-level object. */
  End,
  /** Not split: the caller parses the whole body. */
  Fallback,
}

enum Expect {
  ElementOrEnd,
  SeparatorOrEnd,
  Element,
}

/** Bytes skipped without a boundary before the byte loop takes over (each chunk copies them once). */
const MAX_SKIPPED_BYTES = 1024 * 1024;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
