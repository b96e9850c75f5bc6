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
