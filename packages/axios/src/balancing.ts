import { finished, type Readable } from 'node:stream';
import { type Balancer, endpointKey, type Lease, type Outcome } from '@endpoint-watch/balancer';
import type { Endpoint } from '@endpoint-watch/core';
import {
  AllAttemptsFailedError,
  type AttemptFailure,
  type BalancedAgent,
  createBalancedAgent,
  DEFAULT_MAX_ATTEMPTS,
  resolveBalancingSource,
  validateBalancingOptions,
} from '@endpoint-watch/undici';
import axios, {
  type AxiosAdapter,
  AxiosError,
  AxiosHeaders,
  type AxiosInstance,
  type AxiosResponse,
  CanceledError,
  getAdapter,
  type InternalAxiosRequestConfig,
  isAxiosError,
} from 'axios';
import {
  type Dispatcher,
  Request as UndiciRequest,
  Response as UndiciResponse,
  fetch as undiciFetch,
} from 'undici';
import { canReplayBody, classify, isIdempotent } from './classify.js';
import { type AgentEntry, EndpointAgents } from './endpoint-agents.js';
import { findOwnError, toAxiosError } from './errors.js';
import type {
  AxiosBalancingOptions,
  BalancingSource,
  EndpointAgentInfo,
  EndpointBalancing,
} from './types.js';
import { defaultMatch, endpointUrl, fullUrl, type Target, targetOf } from './url.js';

type Config = InternalAxiosRequestConfig;
type AdapterSpec = Config['adapter'];

/** The first axios version whose fetch adapter takes `env.fetch`, `env.Request` and `env.Response`. */
const ENV_FETCH_SINCE = [1, 12];

/** Configs of the attempts this package dispatches: every balancing layer lets them through. */
const attemptConfigs = new WeakSet<object>();
/** On the adapter functions the request interceptor installs: the adapter they wrap. */
const kWrapped: unique symbol = Symbol('endpoint-watch.axios.wrapped');
/** On the dispatch options of fetch-adapter requests: the consistent-hash key. */
const kHashKey: unique symbol = Symbol('endpoint-watch.axios.hashKey');

const now = (): number => performance.now();

let httpAdapter: AxiosAdapter | undefined;
function isHttpAdapter(adapter: AxiosAdapter): boolean {
  httpAdapter ??= getAdapter('http');
  return adapter === httpAdapter;
}

function isFetchAdapter(adapter: AxiosAdapter, config: Config): boolean {
  if (isHttpAdapter(adapter)) return false;
  try {
    return adapter === getAdapter('fetch', config);
  } catch {
    return false; // no fetch in this environment
  }
}

/** What `dispatchRequest` does: the config's adapter, else axios' default list. */
function resolveAdapter(spec: AdapterSpec, config: Config): AxiosAdapter {
  return getAdapter(spec ?? axios.defaults.adapter, config);
}

function supportsEnvFetch(): boolean {
  const [major = 0, minor = 0] = axios.VERSION.split('.').map(Number);
  const [sinceMajor = 1, sinceMinor = 0] = ENV_FETCH_SINCE;
  return major > sinceMajor || (major === sinceMajor && minor >= sinceMinor);
}

const statusOutcome = (status: number, latencyMs: number): Outcome =>
  status >= 500 ? { ok: false, failure: 'status5xx', latencyMs } : { ok: true, latencyMs };

const isReadable = (data: unknown): data is Readable =>
  typeof data === 'object' && data !== null && typeof (data as Readable).pipe === 'function';

/** The caller sees its own config on responses and errors, not the rewritten attempt's. */
function restore<E>(error: E, config: Config): E {
  if (isAxiosError(error)) {
    error.config = config;
    if (error.response) error.response.config = config;
  }
  return error;
}

function isAborted(config: Config): boolean {
  return config.signal?.aborted === true || config.cancelToken?.reason !== undefined;
}

function timeoutError(config: Config, timeoutMs: number): AxiosError {
  const message = config.timeoutErrorMessage || `timeout of ${timeoutMs}ms exceeded`;
  const code = config.transitional?.clarifyTimeoutError ? AxiosError.ETIMEDOUT : AxiosError.ECONNABORTED;
  return new AxiosError(message, code, config);
}

/**
 * The balancing of one instance: one request interceptor that swaps `config.adapter` for a wrapper,
 * and the attachments (one per Service) the wrapper routes matching requests to. The wrapper sees the
 * final config (after every interceptor, with a per-request `adapter` too), so the match is on the
 * URL that would be requested.
 */
class InstanceRouter {
  readonly handles: AxiosEndpointBalancing[] = [];
  readonly #instance: AxiosInstance;
  #interceptor: number | undefined;

  constructor(instance: AxiosInstance) {
    this.#instance = instance;
  }

  add(handle: AxiosEndpointBalancing): void {
    this.handles.push(handle);
    this.#interceptor ??= this.#instance.interceptors.request.use(
      (config) => {
        if (this.handles.length > 0) config.adapter = this.#wrap(config.adapter);
        return config;
      },
      undefined,
      { synchronous: true },
    );
  }

  remove(handle: AxiosEndpointBalancing): void {
    const index = this.handles.indexOf(handle);
    if (index >= 0) this.handles.splice(index, 1);
    if (this.handles.length === 0 && this.#interceptor !== undefined) {
      this.#instance.interceptors.request.eject(this.#interceptor);
      this.#interceptor = undefined;
    }
  }

  #wrap(spec: AdapterSpec): AxiosAdapter {
    // A config sent again (a retry library re-posting `error.config`) carries our wrapper already.
    const original = typeof spec === 'function' && kWrapped in spec ? (spec[kWrapped] as AdapterSpec) : spec;
    const adapter: AxiosAdapter = (config) => this.#dispatch(config, original);
    return Object.assign(adapter, { [kWrapped]: original });
  }

  #dispatch(config: Config, spec: AdapterSpec): Promise<AxiosResponse> {
    if (!attemptConfigs.has(config) && config.socketPath == null) {
      const url = fullUrl(config);
      const target = url && targetOf(url);
      if (url && target) {
        for (const handle of this.handles)
          if (handle.matches(url)) return handle.request(config, url, target, spec);
      }
    }
    return resolveAdapter(spec, config)(config);
  }
}

const routers = new WeakMap<AxiosInstance, InstanceRouter>();

export function routerOf(instance: AxiosInstance): InstanceRouter | undefined {
  return routers.get(instance);
}

export function attachRouter(instance: AxiosInstance): InstanceRouter {
  let router = routers.get(instance);
  if (router === undefined) {
    router = new InstanceRouter(instance);
    routers.set(instance, router);
  }
  return router;
}

/** One `withEndpointBalancing` call: a Service's balancer, its agents, and the request logic. */
export class AxiosEndpointBalancing implements EndpointBalancing {
  readonly balancer: Balancer;
  readonly #owned: boolean;
  readonly #router: InstanceRouter;
  readonly #match: (url: URL) => boolean;
  readonly #options: AxiosBalancingOptions;
  readonly #maxAttempts: number;
  readonly #agents: EndpointAgents;
  #fetchDispatcher: BalancedAgent | undefined;
  #inFlight = 0;
  #whenIdle: Array<() => void> = [];
  #detached = false;
  #detaching: Promise<void> | undefined;

  constructor(
    router: InstanceRouter,
    baseURL: unknown,
    source: BalancingSource,
    options: AxiosBalancingOptions,
  ) {
    validateBalancingOptions(options);
    this.#match = options.match ?? defaultMatch(options.host, baseURL);
    const { balancer, owned } = resolveBalancingSource(source, options, 'the second argument');
    this.balancer = balancer;
    this.#owned = owned;
    this.#router = router;
    this.#options = options;
    this.#maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.#agents = new EndpointAgents(balancer, options.agent, options.tls);
  }

  get detached(): boolean {
    return this.#detached;
  }

  get fetchDispatcher(): BalancedAgent | undefined {
    return this.#fetchDispatcher;
  }

  matches(url: URL): boolean {
    return !this.#detached && this.#match(url);
  }

  agents(): EndpointAgentInfo[] {
    return this.#agents.info();
  }

  detach(): Promise<void> {
    if (this.#detaching === undefined) {
      this.#detached = true;
      this.#router.remove(this);
      this.#detaching = (async () => {
        if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#whenIdle.push(resolve));
        this.#agents.close();
        await this.#fetchDispatcher?.close().catch(() => undefined);
        if (this.#owned) this.balancer.close();
      })();
    }
    return this.#detaching;
  }

  async request(config: Config, url: URL, target: Target, spec: AdapterSpec): Promise<AxiosResponse> {
    this.#inFlight += 1;
    try {
      const adapter = resolveAdapter(spec, config);
      return isFetchAdapter(adapter, config)
        ? await this.#viaFetch(config)
        : await this.#viaNode(config, url, target, adapter);
    } finally {
      this.#inFlight -= 1;
      if (this.#inFlight === 0) for (const resolve of this.#whenIdle.splice(0)) resolve();
    }
  }

  /**
   * The fetch adapter: the URL stays the logical one; undici's `fetch` (`env.fetch`) runs it on the
   * `@endpoint-watch/undici` `BalancedAgent` (`fetchOptions.dispatcher`), which picks, rewrites the
   * origin, keeps Host and SNI, retries and feeds the balancer.
   */
  async #viaFetch(config: Config): Promise<AxiosResponse> {
    if (!supportsEnvFetch()) {
      throw new AxiosError(
        `balancing the fetch adapter needs axios >= ${ENV_FETCH_SINCE.join('.')} (env.fetch), this is ${axios.VERSION}`,
        AxiosError.ERR_NOT_SUPPORT,
        config,
      );
    }
    const agent = this.#dispatcher();
    const key = this.#options.hashKey?.(config);
    const dispatcher: Pick<Dispatcher, 'dispatch'> =
      key === undefined
        ? agent
        : {
            dispatch: (options, handler) =>
              agent.dispatch({ ...options, [kHashKey]: key } as Dispatcher.DispatchOptions, handler),
          };
    const attempt: Config = {
      ...config,
      env: {
        ...config.env,
        fetch: undiciFetch,
        Request: UndiciRequest,
        Response: UndiciResponse,
      } as Config['env'],
      fetchOptions: { ...config.fetchOptions, dispatcher },
    };
    attemptConfigs.add(attempt);
    try {
      const response = await getAdapter('fetch', attempt)(attempt);
      response.config = config;
      return response;
    } catch (error) {
      const own = findOwnError(error);
      if (own !== undefined) throw toAxiosError(own, config, (error as AxiosError).request);
      throw restore(error, config);
    }
  }

  #dispatcher(): BalancedAgent {
    if (this.#fetchDispatcher === undefined) {
      const { fetchDispatcher = {}, tls = {} } = this.#options;
      const connect =
        typeof fetchDispatcher.connect === 'function'
          ? fetchDispatcher.connect
          : { ...tls, ...fetchDispatcher.connect };
      this.#fetchDispatcher = createBalancedAgent(
        { balancer: this.balancer },
        {
          ...fetchDispatcher,
          connect,
          maxAttempts: this.#maxAttempts,
          retryNonIdempotent: this.#options.retryNonIdempotent ?? false,
          noEndpointsTimeoutMs: this.#options.noEndpointsTimeoutMs,
          hashKey: (options) => (options as { [kHashKey]?: string })[kHashKey],
        },
      );
    }
    return this.#fetchDispatcher;
  }

  /**
   * The http adapter (or any other adapter but fetch): each attempt gets a copy of the config with the
   * URL's host and port replaced by the endpoint's, a `Host` header with the logical host, the
   * endpoint's keep-alive agent (SNI and certificate check against the logical host name), no proxy.
   */
  async #viaNode(config: Config, url: URL, target: Target, adapter: AxiosAdapter): Promise<AxiosResponse> {
    if (Number(config.httpVersion ?? 1) === 2) {
      throw new AxiosError(
        'httpVersion 2 is not supported on balanced requests',
        AxiosError.ERR_NOT_SUPPORT,
        config,
      );
    }
    const started = now();
    const idempotent = isIdempotent(config.method);
    const failures: AttemptFailure[] = [];
    /** Endpoints this request failed on: retries exclude them while another candidate exists. */
    const tried = new Set<string>();
    const key = this.#options.hashKey?.(config);
    let lease = this.balancer.pick(key) ?? (await this.#waitForEndpoint(config, key, started, failures));
    for (;;) {
      const entry = this.#agents.acquire(target, lease.endpoint);
      const hops = { redirected: false };
      const attempt = this.#attemptConfig(config, url, target, lease.endpoint, entry, started, hops);
      const attemptStarted = now();
      let response: AxiosResponse;
      try {
        response = await adapter(attempt);
      } catch (error) {
        const latencyMs = now() - attemptStarted;
        this.#agents.done(entry);
        const failed = isAxiosError(error) ? error.response : undefined;
        if (failed !== undefined) {
          lease.release(statusOutcome(failed.status, latencyMs));
          throw restore(error, config);
        }
        const classified = classify(error);
        const { failure, code } = classified;
        // After a redirect the pod has answered the first request: a later hop's failure is not "nothing sent".
        const sent = classified.sent || hops.redirected;
        const retry = hops.redirected && classified.retry === 'any' ? 'idempotent' : classified.retry;
        const outcome: Outcome =
          failure === undefined ? { ok: true, latencyMs } : { ok: false, failure, latencyMs };
        const endpoint = endpointKey(lease.endpoint);
        failures.push({ endpoint, failure, code, sent, error });
        const retryable =
          (retry === 'any' ||
            (retry === 'idempotent' && (idempotent || this.#options.retryNonIdempotent === true))) &&
          canReplayBody(config.data) &&
          !isAborted(config);
        if (!retryable) {
          lease.release(outcome);
          throw restore(error, config);
        }
        if (failures.length >= this.#maxAttempts) {
          lease.release(outcome);
          throw this.#allFailed(failures, config);
        }
        tried.add(endpoint);
        // The failed lease is held during the next pick, so its endpoint looks busier to the strategy.
        const next = this.balancer.pick(undefined, { exclude: tried });
        lease.release(outcome);
        lease = next ?? (await this.#waitForEndpoint(config, undefined, started, failures, tried));
        continue;
      }
      const outcome = statusOutcome(response.status, now() - attemptStarted);
      const settled = lease;
      const done = () => {
        this.#agents.done(entry);
        settled.release(outcome);
      };
      // A streamed body keeps its lease (and connection) until it is consumed or destroyed.
      if (isReadable(response.data)) finished(response.data, done);
      else done();
      response.config = config;
      return response;
    }
  }

  #attemptConfig(
    config: Config,
    url: URL,
    target: Target,
    endpoint: Endpoint,
    entry: AgentEntry,
    started: number,
    hops: { redirected: boolean },
  ): Config {
    const headers = new AxiosHeaders(config.headers);
    if (!headers.has('host')) headers.set('Host', target.host);
    const logicalPort = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const userBeforeRedirect = config.beforeRedirect;
    const attempt: Config = {
      ...config,
      url: endpointUrl(url, endpoint).href,
      baseURL: undefined,
      allowAbsoluteUrls: true,
      headers,
      proxy: false,
      ...(target.protocol === 'https:' ? { httpsAgent: entry.agent } : { httpAgent: entry.agent }),
      // follow-redirects resolves a relative Location against the Host header, i.e. the logical host:
      // such a redirect stays on this endpoint, with the same Host.
      beforeRedirect: (options, responseDetails, requestDetails) => {
        hops.redirected = true;
        const port =
          options.port === '' || options.port == null
            ? options.protocol === 'https:'
              ? 443
              : 80
            : options.port;
        if (
          options.protocol === target.protocol &&
          options.hostname === target.hostname &&
          Number(port) === logicalPort
        ) {
          options.hostname = endpoint.address;
          options.port = endpoint.port;
          options.headers = { ...options.headers, host: target.host };
        }
        userBeforeRedirect?.(options, responseDetails, requestDetails);
      },
    };
    const timeoutMs = Number(config.timeout);
    if (timeoutMs > 0) {
      // One time budget for the whole request, retries included.
      const left = Math.max(1, Math.ceil(timeoutMs - (now() - started)));
      attempt.timeout = left;
      attempt.timeoutErrorMessage = config.timeoutErrorMessage || `timeout of ${timeoutMs}ms exceeded`;
    }
    attemptConfigs.add(attempt);
    return attempt;
  }

  /**
   * `waitForPick`, bounded by `noEndpointsTimeoutMs` and by the request's own `timeout`, `signal` and
   * `cancelToken`. With `failures`, the wait is for a retry: running out is `ERR_ALL_ATTEMPTS_FAILED`.
   */
  async #waitForEndpoint(
    config: Config,
    key: string | undefined,
    started: number,
    failures: readonly AttemptFailure[],
    exclude?: ReadonlySet<string>,
  ): Promise<Lease> {
    const abort = new AbortController();
    const cleanups: Array<() => void> = [];
    const { signal, cancelToken } = config;
    const onAbort = () => abort.abort(new CanceledError(undefined, config));
    if (signal?.aborted) onAbort();
    else if (signal?.addEventListener) {
      signal.addEventListener('abort', onAbort);
      cleanups.push(() => signal.removeEventListener?.('abort', onAbort));
    }
    if (cancelToken) {
      const onCancel = (reason: unknown) => abort.abort(reason ?? new CanceledError(undefined, config));
      cancelToken.subscribe(onCancel);
      cleanups.push(() => cancelToken.unsubscribe(onCancel));
    }
    const timeoutMs = Number(config.timeout);
    if (timeoutMs > 0) {
      const timer = setTimeout(
        () => abort.abort(timeoutError(config, timeoutMs)),
        timeoutMs - (now() - started),
      );
      cleanups.push(() => clearTimeout(timer));
    }
    const bound = this.#options.noEndpointsTimeoutMs;
    try {
      return await this.balancer.waitForPick(key, {
        signal: abort.signal,
        ...(bound === undefined ? {} : { timeoutMs: bound }),
        ...(exclude === undefined ? {} : { exclude }),
      });
    } catch (error) {
      if (abort.signal.aborted) throw abort.signal.reason;
      if (failures.length > 0) {
        const detail = `no endpoint to retry on: ${error instanceof Error ? error.message : String(error)}`;
        throw this.#allFailed(failures, config, detail);
      }
      const own = findOwnError(error);
      throw own === undefined ? error : toAxiosError(own, config);
    } finally {
      for (const cleanup of cleanups) cleanup();
    }
  }

  #allFailed(failures: readonly AttemptFailure[], config: Config, detail?: string): AxiosError {
    const last = failures.at(-1)?.error;
    return toAxiosError(
      new AllAttemptsFailedError(failures, detail),
      config,
      isAxiosError(last) ? last.request : undefined,
    );
  }
}
