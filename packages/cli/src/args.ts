/**
 * The command line: `node:util` `parseArgs` per command, then validation into typed options.
 * Everything wrong with the command line is a `UsageError` (exit code 2) whose message names the
 * option and what is expected.
 */
import { parseArgs } from 'node:util';
import type { StrategyName } from '@endpoint-watch/balancer';
import type { AddressType, EndpointSource, WatchScope } from '@endpoint-watch/core';
import { UsageError } from './errors.js';

export const DEFAULT_DEMO_DURATION_S = 30;
export const DEFAULT_RATE = 150;
export const DEFAULT_CONCURRENCY = 8;
/** The shortest --duration that plays the demo's whole story (checked against the script by a test). */
export const FULL_STORY_S = 7;

export interface DemoOptions {
  /** The scripted story is paced over this many seconds, then the demo ends with its summary. */
  readonly durationS: number;
  /** false: plain periodic lines even on a terminal. */
  readonly tty: boolean;
  /** Requests per second the client sends (an upper bound: it never exceeds it). */
  readonly rate: number;
  /** Requests in flight at most. */
  readonly concurrency: number;
  readonly strategy: StrategyName;
}

export interface WatchOptions {
  readonly service: string;
  readonly namespace: string | undefined;
  readonly context: string | undefined;
  readonly kubeconfig: string | undefined;
  readonly port: string | number | undefined;
  readonly source: EndpointSource;
  readonly scope: WatchScope;
  /** Only these address families; undefined: every one (a dual-stack Service lists both). */
  readonly addressTypes: readonly AddressType[] | undefined;
  readonly json: boolean;
  readonly tlsServerName: string | undefined;
  readonly tty: boolean;
}

export type Command =
  | { readonly command: 'help'; readonly topic?: 'demo' | 'watch' }
  | { readonly command: 'version' }
  | { readonly command: 'demo'; readonly options: DemoOptions }
  | { readonly command: 'watch'; readonly options: WatchOptions };

const STRATEGIES: readonly StrategyName[] = ['least-request', 'peak-ewma', 'round-robin', 'random'];
const SOURCES: readonly EndpointSource[] = ['endpointslices', 'endpoints', 'auto'];
const SCOPES: readonly WatchScope[] = ['auto', 'service', 'namespace'];
const ADDRESS_TYPES: readonly AddressType[] = ['IPv4', 'IPv6', 'FQDN'];
const HELP = { help: { type: 'boolean', short: 'h' } } as const;

export const USAGE = `Usage: endpoint-watch <command> [options]

Commands:
  demo                  a Service with real pods on 127.0.0.x, an embedded apiserver, a scripted
                        deployment and steady client-side balanced traffic, shown live
  watch <service>       the live endpoints of a Service of your cluster (kubeconfig or in-cluster)
  help [command]        this text, or a command's options

Options:
  -h, --help            show help (also: endpoint-watch <command> --help)
  -v, --version         show the version

Through a package script, flags follow a lone --: pnpm demo -- --duration 20

Exit codes: 0 done (also after Ctrl-C and --help), 1 runtime error, 2 wrong or missing command line.`;

export const DEMO_USAGE = `Usage: endpoint-watch demo [--duration <s>] [--no-tty] [--rate <n>] [--concurrency <n>] [--strategy <name>]

Starts an embedded apiserver (TLS, token) with Service shop/web whose pods are real HTTP servers on
127.0.0.2, 127.0.0.3, … A scripted deployment scales up, slows a pod, crashes one, rolls out a new
version and scales down while a client sends steady traffic through createBalancedAgent. Ends after
--duration, or on Ctrl-C, with a summary of every request and attempt.

Options:
  --duration <s>        the story is paced over this many seconds once the cluster is up (default
                        ${DEFAULT_DEMO_DURATION_S}, 3 to 3600; shorter than ${FULL_STORY_S}, it runs the steps that fit)
  --no-tty              plain periodic lines instead of the live view (automatic when not a terminal)
  --rate <n>            requests per second at most (default ${DEFAULT_RATE}, 1 to 2000)
  --concurrency <n>     requests in flight at most (default ${DEFAULT_CONCURRENCY}, 1 to 256)
  --strategy <name>     ${STRATEGIES.join(' | ')} (default least-request)
  -h, --help            this text`;

export const WATCH_USAGE = `Usage: endpoint-watch watch <service> [options]

Shows the endpoints of a Service live: address, pod, node, zone, ready/serving/terminating, and the
health of the watch.

Configuration, the first that exists: --kubeconfig <path>; else KUBECONFIG (a list of files,
merged; ~/.kube/config is then not read); else ~/.kube/config; else the in-cluster service account
(when KUBERNETES_SERVICE_HOST is set).

Options:
  -n, --namespace <ns>      namespace of the Service (default: the context's or the pod's, else
                            default)
  --context <name>          kubeconfig context (default: current-context)
  --kubeconfig <path>       kubeconfig file
  --port <name|number>      the port's name, or a Service port number (80 for a Service 80 -> 8080;
                            without get on services a number is the pods' target port, 8080);
                            required when the Service has several ports
  --source <source>         ${SOURCES.join(' | ')} (default endpointslices)
  --scope <scope>           ${SCOPES.join(' | ')} (default auto): the Service's own watch
                            (selected by its label), or one watch of every slice of the namespace
                            split per Service (kube-proxy's way); auto: the namespace watch from
                            50 Services of a namespace on, which one watch never reaches
  --address-type <types>    IPv4, IPv6 or FQDN, comma-separated for several (default: all; a
                            dual-stack Service lists each pod once per family)
  --json                    one JSON endpoint set per line, on every change (for scripts)
  --tls-server-name <name>  verify the apiserver certificate against this name
  --no-tty                  plain lines instead of the live view (automatic when not a terminal)
  -h, --help                this text

RBAC: list and watch on endpointslices.discovery.k8s.io in the Service's namespace
(with --source endpoints: list and watch on endpoints); optional get on services, so that
--port <number> follows a Service port (without it a number matches the pods' target ports).`;

/**
 * Parses `argv` (without node and the script). Throws `UsageError`, naming the subcommand whose
 * command line is wrong so that the advice points to its help.
 */
export function parseCommandLine(argv: readonly string[]): Command {
  const [first, ...rest] = skipRunSeparator(argv);
  if (first === undefined) {
    throw new UsageError('a command is needed: endpoint-watch demo, or endpoint-watch watch <service>');
  }
  if (first === '-h' || first === '--help') return { command: 'help' };
  if (first === '-v' || first === '--version') return { command: 'version' };
  switch (first) {
    case 'help': {
      const topic = rest[0];
      if (topic === undefined) return { command: 'help' };
      if (topic === 'demo' || topic === 'watch') return { command: 'help', topic };
      throw new UsageError(`no help for "${topic}": the commands are demo and watch`);
    }
    case 'demo':
      return forCommand('demo', () => parseDemo(skipRunSeparator(rest)));
    case 'watch':
      return forCommand('watch', () => parseWatch(skipRunSeparator(rest)));
    default:
      throw new UsageError(
        first.startsWith('-')
          ? `expected a command before ${first}: demo or watch`
          : `unknown command "${first}": the commands are demo and watch`,
      );
  }
}

/**
 * `pnpm demo -- --duration 20` and `npm run x -- …` hand the CLI a lone `--` before its own flags:
 * one in first place is skipped. Anywhere else `--` keeps its meaning, the end of the options
 * (`watch -- <service>`), which `parseArgs` implements.
 */
function skipRunSeparator(args: readonly string[]): readonly string[] {
  return args[0] === '--' ? args.slice(1) : args;
}

/** Rethrows a `UsageError` as one of `command`, so that its advice points to `command --help`. */
function forCommand(command: 'demo' | 'watch', parse: () => Command): Command {
  try {
    return parse();
  } catch (error) {
    if (error instanceof UsageError && error.command === undefined) {
      throw new UsageError(error.message, { command });
    }
    throw error;
  }
}

function parseDemo(args: readonly string[]): Command {
  const { values } = parse('demo', args, {
    ...HELP,
    duration: { type: 'string' },
    'no-tty': { type: 'boolean' },
    rate: { type: 'string' },
    concurrency: { type: 'string' },
    strategy: { type: 'string' },
  });
  if (values.help) return { command: 'help', topic: 'demo' };
  return {
    command: 'demo',
    options: {
      durationS: number('--duration', values.duration, DEFAULT_DEMO_DURATION_S, { min: 3, max: 3600 }),
      tty: values['no-tty'] !== true,
      rate: number('--rate', values.rate, DEFAULT_RATE, { min: 1, max: 2000, integer: true }),
      concurrency: number('--concurrency', values.concurrency, DEFAULT_CONCURRENCY, {
        min: 1,
        max: 256,
        integer: true,
      }),
      strategy: oneOf('--strategy', values.strategy, STRATEGIES, 'least-request'),
    },
  };
}

function parseWatch(args: readonly string[]): Command {
  const { values, positionals } = parse(
    'watch',
    args,
    {
      ...HELP,
      namespace: { type: 'string', short: 'n' },
      context: { type: 'string' },
      kubeconfig: { type: 'string' },
      port: { type: 'string' },
      source: { type: 'string' },
      scope: { type: 'string' },
      'address-type': { type: 'string' },
      json: { type: 'boolean' },
      'tls-server-name': { type: 'string' },
      'no-tty': { type: 'boolean' },
    },
    true,
  );
  if (values.help) return { command: 'help', topic: 'watch' };
  const [service, ...extra] = positionals;
  if (service === undefined)
    throw new UsageError('watch needs the name of a Service: endpoint-watch watch <service>');
  if (extra.length > 0) throw new UsageError(`watch takes one Service, got also: ${extra.join(' ')}`);
  dnsLabel('Service name', service, /^[a-z]([-a-z0-9]*[a-z0-9])?$/);
  if (values.namespace !== undefined)
    dnsLabel('--namespace', values.namespace, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  return {
    command: 'watch',
    options: {
      service,
      namespace: values.namespace,
      context: nonEmpty('--context', values.context),
      kubeconfig: nonEmpty('--kubeconfig', values.kubeconfig),
      port: port(values.port),
      source: oneOf('--source', values.source, SOURCES, 'endpointslices'),
      scope: oneOf('--scope', values.scope, SCOPES, 'auto'),
      addressTypes: addressTypes(values['address-type']),
      json: values.json === true,
      tlsServerName: nonEmpty('--tls-server-name', values['tls-server-name']),
      tty: values['no-tty'] !== true,
    },
  };
}

type OptionsConfig = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

function parse<T extends OptionsConfig>(
  command: string,
  args: readonly string[],
  options: T,
  positionals = false,
) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: positionals });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const option = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new UsageError(`unknown option ${option} for ${command}`);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const argument = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new UsageError(`${command} takes no argument "${argument}"`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const option = /'(?:-\w, )?(--?[\w-]+)/.exec(message)?.[1];
      throw new UsageError(
        option && message.includes('argument missing')
          ? `${option} needs a value`
          : `${message.split('. ')[0] ?? message} (${command})`,
      );
    }
    throw error;
  }
}

function number(
  name: string,
  text: string | undefined,
  fallback: number,
  limits: { min: number; max: number; integer?: boolean },
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  const valid = text.trim() !== '' && Number.isFinite(value) && (!limits.integer || Number.isInteger(value));
  if (!valid || value < limits.min || value > limits.max) {
    const kind = limits.integer ? 'a whole number' : 'a number';
    throw new UsageError(`${name} must be ${kind} from ${limits.min} to ${limits.max}, got "${text}"`);
  }
  return value;
}

function oneOf<T extends string>(
  name: string,
  text: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (text === undefined) return fallback;
  if ((allowed as readonly string[]).includes(text)) return text as T;
  throw new UsageError(`${name} must be one of ${allowed.join(', ')}, got "${text}"`);
}

function port(text: string | undefined): string | number | undefined {
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    if (value < 1 || value > 65535)
      throw new UsageError(`--port must be a port name or 1 to 65535, got "${text}"`);
    return value;
  }
  dnsLabel('--port', text, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  return text;
}

/** `IPv4,IPv6` → the address types, in any case, each once; undefined keeps them all. */
function addressTypes(text: string | undefined): readonly AddressType[] | undefined {
  if (text === undefined) return undefined;
  const types: AddressType[] = [];
  for (const item of text.split(',')) {
    const type = ADDRESS_TYPES.find((known) => known.toLowerCase() === item.trim().toLowerCase());
    if (type === undefined)
      throw new UsageError(
        `--address-type takes ${ADDRESS_TYPES.join(', ')} (comma-separated), got "${text}"`,
      );
    if (!types.includes(type)) types.push(type);
  }
  return types;
}

function dnsLabel(name: string, text: string, pattern: RegExp): void {
  if (text.length > 63 || !pattern.test(text)) {
    throw new UsageError(
      `${name} "${text}" is not a valid name (lowercase letters, digits and '-', at most 63 characters)`,
    );
  }
}

function nonEmpty(name: string, text: string | undefined): string | undefined {
  if (text !== undefined && text.trim() === '') throw new UsageError(`${name} needs a non-empty value`);
  return text;
}
