import { isIP } from 'node:net';
import type { Endpoint } from '@endpoint-watch/core';
import { BalancingOptionsError } from '@endpoint-watch/undici';

const ABSOLUTE_URL = /^([a-z][a-z\d+\-.]*:)?\/\//i;
const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

interface UrlConfig {
  readonly url?: string | undefined;
  readonly baseURL?: string | undefined;
  readonly allowAbsoluteUrls?: boolean | undefined;
}

/**
 * The request's full URL as axios builds it (`baseURL` joined to a relative `url`, or to any `url`
 * with `allowAbsoluteUrls: false`), without `params`. `undefined` when it does not parse.
 */
export function fullUrl(config: UrlConfig): URL | undefined {
  const url = config.url ?? '';
  const base = config.baseURL;
  let text = url;
  if (base && (!ABSOLUTE_URL.test(url) || config.allowAbsoluteUrls === false)) {
    text = url === '' ? base : `${base.replace(/\/?\/$/, '')}/${url.replace(/^\/+/, '')}`;
  }
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

const effectivePort = (url: URL): string => url.port || (DEFAULT_PORTS[url.protocol] ?? '');

/** `match` for `options.host` (`name` or `name:port`) or, failing that, the `baseURL`'s host and port. */
export function defaultMatch(host: string | undefined, baseURL: unknown): (url: URL) => boolean {
  if (host !== undefined) {
    let parsed: URL;
    try {
      // A non-special scheme keeps the port exactly as written (also 80 or 443).
      parsed = new URL(`balanced://${host}`);
    } catch {
      throw new BalancingOptionsError(`options.host must be a host name with an optional port, got ${host}`);
    }
    if (parsed.pathname !== '' || parsed.username !== '' || parsed.search !== '') {
      throw new BalancingOptionsError(`options.host must be a host name with an optional port, got ${host}`);
    }
    const hostname = parsed.hostname.toLowerCase();
    const port = parsed.port;
    return (url) => url.hostname === hostname && (port === '' || effectivePort(url) === port);
  }
  let base: URL;
  try {
    base = new URL(String(baseURL));
  } catch {
    throw new BalancingOptionsError(
      'give options.match, options.host, or an instance with an absolute baseURL: they say which requests are balanced',
    );
  }
  const port = effectivePort(base);
  return (url) => url.hostname === base.hostname && effectivePort(url) === port;
}

/** What a balanced request keeps of its logical URL. */
export interface Target {
  readonly protocol: 'http:' | 'https:';
  /** `host[:port]` as in the URL (default port omitted): the Host header. */
  readonly host: string;
  /** Host name without IPv6 brackets: what the certificate is verified against. */
  readonly hostname: string;
  /** TLS server name (SNI): the host name for https to a DNS name. */
  readonly servername: string | undefined;
}

export function targetOf(url: URL): Target | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    protocol: url.protocol,
    host: url.host,
    hostname,
    servername: url.protocol === 'https:' && isIP(hostname) === 0 ? hostname : undefined,
  };
}

/** The URL with host and port replaced by the endpoint's (IPv6 in brackets); the rest kept. */
export function endpointUrl(url: URL, endpoint: Endpoint): URL {
  const out = new URL(url.href);
  out.hostname = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
  out.port = String(endpoint.port);
  return out;
}
