import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { KubeConfigError } from '../errors.js';
import { describeFsError } from './files.js';

const str = () => z.string().nullish();
const list = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .nullish()
    .transform((v) => v ?? []);

const ExecEnvVarSchema = z.object({ name: z.string().min(1), value: z.string() });

/** `users[].user.exec` of a kubeconfig. */
export const ExecConfigSchema = z.looseObject({
  apiVersion: str(),
  command: z.string().min(1),
  args: list(z.string()),
  env: list(ExecEnvVarSchema),
  installHint: str(),
  provideClusterInfo: z.boolean().nullish(),
  interactiveMode: str(),
});
export type ExecConfig = z.infer<typeof ExecConfigSchema>;

/** `clusters[].cluster` of a kubeconfig. */
export const ClusterConfigSchema = z.looseObject({
  server: str(),
  'certificate-authority': str(),
  'certificate-authority-data': str(),
  'tls-server-name': str(),
  'insecure-skip-tls-verify': z.boolean().nullish(),
  'proxy-url': str(),
});
export type ClusterConfig = z.infer<typeof ClusterConfigSchema>;

/** `users[].user` of a kubeconfig. */
export const UserConfigSchema = z.looseObject({
  token: str(),
  tokenFile: str(),
  'client-certificate': str(),
  'client-certificate-data': str(),
  'client-key': str(),
  'client-key-data': str(),
  username: str(),
  password: str(),
  'auth-provider': z.looseObject({ name: z.string().nullish() }).nullish(),
  exec: ExecConfigSchema.nullish(),
  as: str(),
  'as-uid': str(),
  'as-groups': z.array(z.string()).nullish(),
  'as-user-extra': z.unknown().optional(),
});
export type UserConfig = z.infer<typeof UserConfigSchema>;

/** `contexts[].context` of a kubeconfig. */
export const ContextConfigSchema = z.looseObject({
  cluster: str(),
  user: str(),
  namespace: str(),
});
export type ContextConfig = z.infer<typeof ContextConfigSchema>;

/** The kubeconfig file (`apiVersion: v1`, `kind: Config`). Unknown keys are ignored. */
export const KubeconfigFileSchema = z.looseObject({
  apiVersion: str(),
  kind: str(),
  'current-context': str(),
  clusters: list(z.looseObject({ name: z.string().min(1), cluster: ClusterConfigSchema.nullish() })),
  users: list(z.looseObject({ name: z.string().min(1), user: UserConfigSchema.nullish() })),
  contexts: list(z.looseObject({ name: z.string().min(1), context: ContextConfigSchema.nullish() })),
});

/** A kubeconfig entry together with the file that defined it (relative paths resolve against its directory). */
export interface KubeconfigEntry<T> {
  readonly name: string;
  readonly value: T;
  readonly file: string;
}

/** One parsed kubeconfig file. */
export interface KubeconfigFile {
  readonly file: string;
  readonly currentContext?: string;
  readonly clusters: readonly KubeconfigEntry<ClusterConfig>[];
  readonly users: readonly KubeconfigEntry<UserConfig>[];
  readonly contexts: readonly KubeconfigEntry<ContextConfig>[];
}

/** Several kubeconfig files merged like kubectl does with `KUBECONFIG`: the first definition wins. */
export interface MergedKubeconfig {
  readonly files: readonly string[];
  readonly currentContext?: string;
  readonly clusters: ReadonlyMap<string, KubeconfigEntry<ClusterConfig>>;
  readonly users: ReadonlyMap<string, KubeconfigEntry<UserConfig>>;
  readonly contexts: ReadonlyMap<string, KubeconfigEntry<ContextConfig>>;
}

function lineAndColumn(source: string, offset: number): string {
  const before = source.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

function formatIssues(error: z.ZodError): string {
  // Only paths and zod's generic messages: never the offending values, which may be tokens.
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

/** yaml's own default, written out: the bound on alias expansion is part of this parser's contract. */
const MAX_ALIAS_COUNT = 100;

/**
 * Parses kubeconfig YAML (or JSON). Error messages name the file and position but never quote the
 * source, which may contain credentials.
 */
export function parseKubeconfig(source: string, file: string): KubeconfigFile {
  const doc = parseDocument(source, { prettyErrors: false });
  const [first] = doc.errors;
  if (first) {
    throw new KubeConfigError(
      `Invalid YAML in kubeconfig ${file} at ${lineAndColumn(source, first.pos[0])}: ${first.code}`,
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch {
    // What only building the value finds: an alias that expands too much (an entity expansion
    // attack) or names no anchor, a YAML 1.1 merge of something that is not a map. yaml's messages
    // name anchors; the cause is left out with them, as the rest of the source is.
    throw new KubeConfigError(
      `Invalid YAML in kubeconfig ${file}: an alias that names no anchor or expands more than ` +
        `${MAX_ALIAS_COUNT} times, or a merge (<<) of something that is not a map`,
    );
  }
  const parsed = KubeconfigFileSchema.safeParse(data);
  if (!parsed.success) {
    throw new KubeConfigError(`Invalid kubeconfig ${file}: ${formatIssues(parsed.error)}`);
  }
  const config = parsed.data;
  return {
    file,
    currentContext: config['current-context'] || undefined,
    clusters: config.clusters.map((c) => ({ name: c.name, value: c.cluster ?? {}, file })),
    users: config.users.map((u) => ({ name: u.name, value: u.user ?? {}, file })),
    contexts: config.contexts.map((c) => ({ name: c.name, value: c.context ?? {}, file })),
  };
}

/**
 * Reads and parses a kubeconfig file. With `skipMissing`, a file that does not exist yields `undefined`
 * (kubectl skips missing `KUBECONFIG` entries); any other read error throws.
 */
export function readKubeconfigFile(
  file: string,
  options: { skipMissing?: boolean } = {},
): KubeconfigFile | undefined {
  const absolute = path.resolve(file);
  let source: string;
  try {
    source = readFileSync(absolute, 'utf8');
  } catch (err) {
    if (options.skipMissing && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KubeConfigError(`Cannot read kubeconfig ${absolute}: ${describeFsError(err)}`, { cause: err });
  }
  return parseKubeconfig(source, absolute);
}

function mergeEntries<T>(lists: readonly (readonly KubeconfigEntry<T>[])[]): Map<string, KubeconfigEntry<T>> {
  const merged = new Map<string, KubeconfigEntry<T>>();
  for (const entries of lists) {
    for (const entry of entries) if (!merged.has(entry.name)) merged.set(entry.name, entry);
  }
  return merged;
}

/** Merges kubeconfig files in order: for each named entry and for `current-context`, the first wins. */
export function mergeKubeconfigs(files: readonly KubeconfigFile[]): MergedKubeconfig {
  return {
    files: files.map((f) => f.file),
    currentContext: files.find((f) => f.currentContext)?.currentContext,
    clusters: mergeEntries(files.map((f) => f.clusters)),
    users: mergeEntries(files.map((f) => f.users)),
    contexts: mergeEntries(files.map((f) => f.contexts)),
  };
}
