import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KubeConfigError } from '../errors.js';

/** Resolves `file` against the directory of `definedIn` (kubectl semantics for paths in a kubeconfig). */
export function resolveRelativeTo(definedIn: string, file: string): string {
  return path.isAbsolute(file) ? file : path.resolve(path.dirname(definedIn), file);
}

/** Short, credential-free description of a filesystem error. */
export function describeFsError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'file not found';
    if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
    if (code === 'EISDIR') return 'is a directory';
    return code ?? err.name;
  }
  return 'unknown error';
}

/** Reads a file referenced by a configuration, throwing a `KubeConfigError` naming `what` and the path. */
export function readReferencedFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubeConfigError(`Cannot read ${what} file ${file}: ${describeFsError(err)}`, { cause: err });
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes a kubeconfig `*-data` field (standard base64). The value never appears in the error. */
export function decodeBase64Field(data: string, what: string): string {
  // Whitespace goes first: a pattern that allows it among the characters and again before the end
  // backtracks quadratically over a long run of it.
  if (!BASE64.test(data.replace(/\s+/g, ''))) throw new KubeConfigError(`${what} is not valid base64`);
  return Buffer.from(data, 'base64').toString('utf8');
}

/** Checks that `text` contains a PEM block; the content never appears in the error. */
export function ensurePem(text: string, what: string): string {
  if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text)) {
    throw new KubeConfigError(`${what} does not contain a PEM block (-----BEGIN ...-----)`);
  }
  return text;
}

/** True when an option value is inline PEM data rather than a file path. */
export function looksLikePem(value: string): boolean {
  return value.includes('-----BEGIN ');
}
