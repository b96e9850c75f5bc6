/**
 * Every error this package throws or reports is an `EndpointWatchError` with a stable `code`,
 * in the style of undici's `UND_ERR_*` codes, so callers branch on `err.code`, never on messages.
 * Messages never contain credentials.
 */
export class EndpointWatchError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The kubeconfig, in-cluster files or exec plugin could not produce a usable configuration. */
export class KubeConfigError extends EndpointWatchError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_KUBECONFIG', message, options);
  }
}

/** An exec credential plugin failed, timed out or returned something that is not an ExecCredential. */
export class ExecCredentialError extends EndpointWatchError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_EXEC_CREDENTIAL', message, options);
  }
}
