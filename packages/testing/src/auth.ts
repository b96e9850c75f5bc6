/** Bearer-token authentication, with anonymous access to the public info paths. */
import { timingSafeEqual } from 'node:crypto';
import { PUBLIC_PATHS } from './routes.js';

function sameToken(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

/**
 * True when the request may proceed: no token is configured, the header carries the current token,
 * or the request is anonymous (no Authorization header) for a public path. A wrong token is always 401.
 */
export function authenticate(
  authorization: string | undefined,
  token: string | undefined,
  path: string,
): boolean {
  if (token === undefined) return true;
  if (authorization === undefined || authorization === '') return PUBLIC_PATHS.has(path);
  const m = /^bearer\s+(.+)$/i.exec(authorization.trim());
  return m !== null && sameToken(m[1]!.trim(), token);
}
