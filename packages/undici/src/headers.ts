import type { Dispatcher } from 'undici';

type Headers = Dispatcher.DispatchOptions['headers'];
type Flat = Array<string | string[]>;

const isHost = (name: unknown): boolean => typeof name === 'string' && name.toLowerCase() === 'host';

function withHostFlat(flat: Flat, host: string): Flat {
  for (let i = 0; i < flat.length; i += 2) if (isHost(flat[i])) return flat;
  return ['host', host, ...flat];
}

/**
 * The request headers with `host` added in front unless one is already there, in any of the shapes
 * undici accepts (object, flat array, array of pairs, iterable such as `Headers` or `Map`).
 * The input is never modified.
 */
export function withHostHeader(headers: Headers, host: string): Headers {
  if (headers == null) return { host };
  if (Array.isArray(headers)) {
    const flat = (headers.length > 0 && Array.isArray(headers[0]) ? headers.flat(1) : headers) as Flat;
    return withHostFlat(flat, host) as string[];
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    const flat: Flat = [];
    for (const entry of headers as Iterable<[string, string | string[] | undefined]>) {
      const [name, value] = entry;
      if (value !== undefined) flat.push(name, value);
    }
    return withHostFlat(flat, host) as string[];
  }
  const record = headers as Record<string, string | string[] | undefined>;
  const out: Record<string, string | string[] | undefined> = { host };
  for (const name of Object.keys(record)) {
    if (!isHost(name)) out[name] = record[name];
    else if (record[name] !== undefined) return headers; // the caller's own Host
  }
  return out as Record<string, string | string[]>;
}
