/**
 * What the user reads when something goes wrong: a one-line message and, where we know it, what to
 * do about it. Exit codes: 2 for a wrong command line, 1 for everything that failed at run time.
 */
import {
  EndpointWatchError,
  KubeApiError,
  KubeConfigError,
  KubeTransportError,
  rbacGrantFor,
} from '@endpoint-watch/core';

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** The command line is wrong (unknown option, missing value, bad number, …): exit code 2. */
export class UsageError extends Error {
  readonly exitCode = EXIT_USAGE;
  /** The subcommand whose command line is wrong: its help is the one to read. */
  readonly command: string | undefined;
  constructor(message: string, options: { command?: string } = {}) {
    super(message);
    this.name = 'UsageError';
    this.command = options.command;
  }
}

/** `Run 'endpoint-watch watch --help' for usage.`: the help of the command that was wrong. */
export function helpPointer(command: string | undefined): string {
  return `Run 'endpoint-watch ${command === undefined ? '' : `${command} `}--help' for usage.`;
}

export interface Explanation {
  readonly message: string;
  /** What to do about it, possibly several lines. */
  readonly hint?: string;
}

/** Where the error happened, to make the advice concrete. */
export interface ErrorContext {
  /** The namespace being watched, when the error does not say. */
  readonly namespace?: string;
}

/**
 * Errors the user must fix before a watch can ever work (wrong identity, RBAC, TLS, nothing listening):
 * before the first sync `watch` stops on them instead of retrying forever. After a first sync every error
 * is shown and retried, since the watch keeps serving the last good state. The SDK's own rule.
 */
export { needsUserAction } from '@endpoint-watch/core';

/** The message and advice for any error a command can end with. */
export function explainError(error: unknown, context: ErrorContext = {}): Explanation {
  if (error instanceof UsageError) return { message: error.message, hint: helpPointer(error.command) };
  if (error instanceof KubeConfigError) {
    return {
      message: inCliTerms(error.message),
      hint: /context "[^"]*" not found|no current-context/i.test(error.message)
        ? 'List the contexts with `kubectl config get-contexts`; choose one with --context, or another file with --kubeconfig.'
        : 'Point to a kubeconfig with --kubeconfig (or KUBECONFIG), choose a context with --context, or run inside a pod.',
    };
  }
  if (error instanceof KubeApiError) return explainApiError(error, context);
  if (error instanceof KubeTransportError) {
    switch (error.code) {
      case 'ERR_KUBE_TLS_NAME':
        return {
          message: withoutAdvice(error.message),
          hint: 'Pass the name the apiserver certificate was issued for with --tls-server-name <name> (kubeconfig: tls-server-name).',
        };
      case 'ERR_KUBE_TLS_TRUST':
        return {
          message: withoutAdvice(error.message),
          hint: "Check the cluster's certificate-authority(-data) in the kubeconfig (in a pod: ca.crt of the service account).",
        };
      case 'ERR_KUBE_UNREACHABLE':
        return {
          message: error.message,
          hint: 'Is the cluster running and reachable from here (VPN, firewall)? Check the server of the context (--context, --kubeconfig).',
        };
      default:
        return { message: error.message };
    }
  }
  if (errorCode(error) === 'ERR_PORT_SELECTION') {
    // The SDK says "choose one with the port option"; the hint says it in the CLI's terms, once.
    return {
      message: messageOf(error).replace(/; choose one with the port option:/, ':'),
      hint: 'Choose one with --port <name or number>.',
    };
  }
  if (error instanceof EndpointWatchError) return { message: `${error.message} (${error.code})` };
  return { message: messageOf(error) };
}

/**
 * The SDK's TLS messages end with advice in SDK terms (`set tlsServerName …`, `check the CA …`); the
 * hint gives it in CLI terms, so it is said once: the message keeps what happened.
 */
function withoutAdvice(message: string): string {
  return message.replace(/; (?:set tlsServerName|check the CA) .*?\.(?= No credentials|$)/, '.');
}

/** `tried: options.server (not given), options.kubeconfig (not given), …` in the CLI's words. */
function inCliTerms(message: string): string {
  return message.replace('options.server (not given), ', '').replaceAll('options.kubeconfig', '--kubeconfig');
}

/** How a healthy watch ends when its connection goes: routine enough to be told in plain words. */
const CONNECTION_CUTS = new Set([
  'ERR_WATCH_CONNECTION_LOST',
  'ERR_WATCH_TRUNCATED',
  'ERR_WATCH_IDLE',
  'ERR_WATCH_DEADLINE',
]);

/** A short, single-line form for the live view's health line and the event log. */
export function shortError(error: unknown, context: ErrorContext = {}): string {
  if (error instanceof EndpointWatchError && CONNECTION_CUTS.has(error.code)) return error.message;
  const grant = error instanceof KubeApiError ? rbacGrantFor(error, context.namespace) : undefined;
  if (grant) return `403 Forbidden: grant list, watch on ${grant.resource} in namespace ${grant.namespace}`;
  if (error instanceof KubeApiError) {
    return `${error.statusCode}${error.status.reason ? ` ${error.status.reason}` : ''}${error.status.message ? `: ${error.status.message}` : ''}`;
  }
  const code = errorCode(error);
  const message = messageOf(error);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

function explainApiError(error: KubeApiError, context: ErrorContext): Explanation {
  const reason = error.status.reason ? ` ${error.status.reason}` : '';
  const detail = error.status.message ? `: ${error.status.message}` : '';
  const grant = rbacGrantFor(error, context.namespace);
  if (grant) {
    const { resource, namespace, verb, commands } = grant;
    return {
      message: `the apiserver refused to ${verb} ${resource} in namespace ${namespace} (403${reason}${detail})`,
      hint: [
        `grant list, watch on ${resource} in namespace ${namespace} to the identity of your kubeconfig context, e.g.:`,
        ...commands.map((command) => `  ${command}`),
      ].join('\n'),
    };
  }
  if (error.statusCode === 401) {
    return {
      message: `the apiserver did not accept the credentials (401${reason}${detail})`,
      hint: 'The token or client certificate of the context is wrong or expired: log in again (e.g. refresh your cloud credentials).',
    };
  }
  if (error.statusCode === 404) {
    return {
      message: `${error.method} ${error.path}: 404${reason}${detail}`,
      hint: 'The apiserver does not serve this API: with clusters older than 1.21 try --source endpoints (or --source auto).',
    };
  }
  return { message: error.message };
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
