/**
 * Secret material (bearer tokens, private keys). Wrapped so that `util.inspect`, `JSON.stringify`
 * and string concatenation never reveal it; only `reveal()` does, at the one place a header is built.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'Secret([redacted])';
  }
}

/** Client TLS identity: PEM certificate chain and PEM private key. */
export interface ClientCertificate {
  readonly cert: string;
  readonly key: Secret;
}

/** What a request needs to authenticate, as of now. */
export interface Credentials {
  /** Bearer token, sent as `Authorization: Bearer …`. */
  readonly token?: Secret;
  /** Client certificate, presented during the TLS handshake. */
  readonly clientCertificate?: ClientCertificate;
}

/**
 * Produces credentials for each request. Implementations cache: a token file is re-read at most
 * every 60 s, an exec plugin's output is kept until its `expirationTimestamp`.
 * `{ refresh: true }` is asked after a 401: re-read the file / re-run the plugin now.
 */
export interface CredentialSource {
  credentials(options?: { refresh?: boolean; signal?: AbortSignal }): Promise<Credentials>;
}

/** TLS settings for the connection to the apiserver. */
export interface TlsSettings {
  /** PEM CA bundle to verify the apiserver certificate; system roots when absent. */
  readonly ca?: string;
  /** Name the apiserver certificate is verified against (and sent as SNI) instead of the URL's host. */
  readonly serverName?: string;
  /** Disables certificate verification. Never the default; loading a config with it set warns once. */
  readonly insecureSkipTlsVerify: boolean;
}

/** Where the resolved configuration came from. */
export type KubeConfigSource = 'options' | 'kubeconfig' | 'in-cluster';

/** A fully resolved cluster configuration, ready for `createKubeClient`. */
export interface KubeConfig {
  /** Apiserver base URL, e.g. `https://10.96.0.1:443` or `https://[fd00::1]:443`; no trailing slash. */
  readonly server: string;
  /** The context's namespace, the in-cluster namespace file, or `default`. */
  readonly namespace: string;
  readonly tls: TlsSettings;
  readonly auth: CredentialSource;
  readonly source: KubeConfigSource;
  /** The kubeconfig context used, when `source` is `kubeconfig`. */
  readonly context?: string;
}

/** In-cluster (service account) settings for {@link LoadKubeConfigOptions.inCluster}. */
export interface InClusterOptions {
  /** Directory holding `token`, `ca.crt` and `namespace`; default `/var/run/secrets/kubernetes.io/serviceaccount`. */
  readonly serviceAccountDir?: string;
  /**
   * `true` (default): use the in-cluster configuration, skipping kubeconfig discovery.
   * `false`: only configure the in-cluster fallback used when no kubeconfig is found.
   */
  readonly force?: boolean;
}

/**
 * Options of `loadKubeConfig`. All optional; resolution order is: explicit `server` → forced in-cluster →
 * `kubeconfig` option → env `KUBECONFIG` → `<homeDir>/.kube/config` → in-cluster → `KubeConfigError`.
 */
export interface LoadKubeConfigOptions {
  /** Kubeconfig file(s), merged first-wins like `KUBECONFIG`; every listed file must exist. */
  readonly kubeconfig?: string | readonly string[];
  /** Context to use instead of the kubeconfig's `current-context`. */
  readonly context?: string;
  /** Namespace override. */
  readonly namespace?: string;
  /** Overrides the cluster's `tls-server-name` (certificate verification name and SNI). */
  readonly tlsServerName?: string;
  /** `true` or an object (see {@link InClusterOptions}) forces in-cluster; `false` disables the fallback. */
  readonly inCluster?: boolean | InClusterOptions;
  /** Environment used for `KUBECONFIG` and `KUBERNETES_SERVICE_*`; defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Home directory for `~/.kube/config`; defaults to `os.homedir()`. */
  readonly homeDir?: string;
  /** Receives warnings (e.g. insecure TLS); defaults to `process.emitWarning` with an `ENDPOINT_WATCH_*` code. */
  readonly warn?: (message: string) => void;
  /** Clock for credential caches; defaults to `Date.now`. */
  readonly now?: () => number;
  /** How long a token file's content is cached before being re-read; default 60 000 ms. */
  readonly tokenFileRefreshIntervalMs?: number;
  /** Exec credential plugin timeout; default 30 000 ms. */
  readonly execTimeoutMs?: number;

  /** Apiserver URL. When given, the configuration is built from these options alone. */
  readonly server?: string;
  /** Static bearer token (with `server`). */
  readonly token?: string | Secret;
  /** File holding a bearer token, re-read periodically and after a 401 (with `server`). */
  readonly tokenFile?: string;
  /** PEM CA bundle (with `server`). */
  readonly ca?: string;
  /** File holding a PEM CA bundle (with `server`). */
  readonly caFile?: string;
  /** Client certificate: PEM data or a file path (with `server` and `clientKey`). */
  readonly clientCertificate?: string;
  /** Client private key: PEM data or a file path (with `server` and `clientCertificate`). */
  readonly clientKey?: string | Secret;
  /** Disables apiserver certificate verification (with `server`); warns. */
  readonly insecureSkipTlsVerify?: boolean;
}
