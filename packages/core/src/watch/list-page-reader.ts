import { parseJsonBody } from '../transport/kube-client.js';
import { ListBodySplitter } from './list-body-splitter.js';
import { type ListPage, readListPage } from './list-page.js';
import type { KubeObject } from './watch-event.js';

/** A page's items rewritten by the list+watch transform, or the error it threw on one of them. */
export type ReadPage = ListPage | { readonly rejected: unknown };

/**
 * One LIST page, read while its body arrives: each item is `JSON.parse`d and transformed as soon as
 * the splitter has its bytes, so that this work overlaps the transfer instead of following it, and
 * the raw objects die young. Nothing is given out before `end()`, and only for a body that is
 * whole and valid: a page is applied at once or not at all, as when the body was parsed whole.
 *
 * What `end()` returns or throws is what parsing the whole body would have given: the same page (a
 * valid body is the skeleton's members plus the items, each checked by `JSON.parse`), the same
 * transport error for a body that is not JSON (any doubt falls back to parsing the whole body), the
 * same `undefined` for a body that is not a List, and the transform's first error for its object.
 */
export class ListPageReader {
  readonly #splitter = new ListBodySplitter();
  readonly #path: string;
  readonly #transform: ((object: KubeObject) => KubeObject) | undefined;
  #items: KubeObject[] = [];
  /** The transform's first error: later items are still parsed (the body must prove valid) but not kept. */
  #rejected: { readonly error: unknown } | undefined;

  /** `path` names the request in errors. */
  constructor(path: string, transform: ((object: KubeObject) => KubeObject) | undefined) {
    this.#path = path;
    this.#transform = transform;
  }

  feed(chunk: Uint8Array): void {
    this.#take(this.#splitter.feed(chunk));
  }

  /** Parses and transforms the elements the splitter completed. */
  #take(texts: readonly string[]): void {
    const splitter = this.#splitter;
    for (let i = 0; i < texts.length; i++) {
      let item: KubeObject;
      try {
        // The splitter gives out only texts that start with `{`: one that parses is an object.
        item = JSON.parse(texts[i]!) as KubeObject;
      } catch {
        // Not valid here (or a boundary the splitter only guessed): the whole body's parse decides.
        splitter.abandon();
        break;
      }
      if (this.#rejected !== undefined) continue;
      const transform = this.#transform;
      if (transform) {
        try {
          item = transform(item);
        } catch (error) {
          this.#rejected = { error };
          this.#items = [];
          continue;
        }
      }
      this.#items.push(item);
    }
    if (splitter.fallenBack) this.#items = [];
  }

  /** The body has ended: its page (`undefined`: not a List), or throws as parsing it whole did. */
  end(): ReadPage | undefined {
    const rest = this.#splitter.end();
    let top: unknown;
    if (rest !== undefined) this.#take(rest.items);
    if (rest !== undefined && !this.#splitter.fallenBack) {
      try {
        top = JSON.parse(rest.skeleton);
      } catch {
        // Reported by the whole body's parse below.
      }
    }
    if (top === undefined) return this.#readWhole();
    // `"items":[]`: the page's checks on the rest are those of the whole body (its items are objects).
    const page = readListPage(top);
    if (page === undefined) return undefined;
    if (this.#rejected !== undefined) return { rejected: this.#rejected.error };
    const items = this.#items;
    this.#items = [];
    return { items, resourceVersion: page.resourceVersion, continue: page.continue };
  }

  /** The fallback: the whole body parsed, then transformed in place, as before the splitter. */
  #readWhole(): ReadPage | undefined {
    this.#items = [];
    const page = readListPage(parseJsonBody(this.#splitter.wholeBody(), this.#path));
    const transform = this.#transform;
    if (page === undefined || !transform) return page;
    const items = page.items;
    try {
      // In place: each raw object becomes garbage as soon as it is transformed.
      for (let i = 0; i < items.length; i++) items[i] = transform(items[i]!);
    } catch (error) {
      return { rejected: error };
    }
    return page;
  }
}
