/**
 * LIST: resourceVersion / resourceVersionMatch semantics, limit + continue paging over a consistent
 * snapshot (reconstructed from the store's history), selectors, and the list's JSON shape.
 */
import type { ResourceInfo } from './resources.js';
import { filterMatches, type ObjectFilter } from './selectors.js';
import { type FieldError, failureStatus, invalidListOptions, type Status } from './status.js';
import { objectKey, type Store } from './store.js';
import type { KubeObject } from './types.js';

/** What the continue token carries: the snapshot RV (-1 = latest, inconsistent) and the first key to return. */
interface ContinueToken {
  v: 'meta.k8s.io/v1';
  rv: number;
  start: string;
}

export function encodeContinue(rv: number, start: string): string {
  const token: ContinueToken = { v: 'meta.k8s.io/v1', rv, start };
  return Buffer.from(JSON.stringify(token), 'utf8').toString('base64url');
}

function decodeContinue(token: string): ContinueToken | string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<ContinueToken>;
    if (parsed.v !== 'meta.k8s.io/v1')
      return 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)';
    if (typeof parsed.rv !== 'number' || !Number.isInteger(parsed.rv)) return 'continue key is not valid: rv';
    if (typeof parsed.start !== 'string' || parsed.start === '') return 'continue key is not valid: start';
    return parsed as ContinueToken;
  } catch {
    return 'continue key is not valid: illegal base64 data';
  }
}

export const CONTINUE_EXPIRED_MESSAGE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list ' +
  'without the continue parameter, or use the continue token in this response to retrieve the remainder of the ' +
  'results. Continuing with the provided token results in an inconsistent list - objects that were created, ' +
  'modified, or deleted between the time the first chunk was returned and now may show up in the list.';

/** 504 the apiserver answers for a resourceVersion it has not reached (list and watch). */
export function tooLargeResourceVersion(requested: number, current: number): Status {
  return failureStatus(504, {
    reason: 'Timeout',
    message: `Timeout: Too large resource version: ${requested}, current: ${current}`,
    details: { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }] },
    retryAfterSeconds: 1,
  });
}

/** Parses a resourceVersion parameter; undefined for ''/absent, NaN for garbage. */
export function parseResourceVersion(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  return /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
}

/** 400 for a malformed resourceVersion on a list, worded as kube-apiserver words it. */
export function badResourceVersion(value: string): Status {
  const quoted = JSON.stringify(value);
  return failureStatus(400, {
    message: `invalid resource version: resourceVersion: Invalid value: ${quoted}: strconv.ParseUint: parsing ${quoted}: invalid syntax`,
  });
}

/** 400 for a query parameter that is not an integer (limit, timeoutSeconds), as the parameter codec says it. */
export function invalidInteger(value: string): Status {
  return failureStatus(400, {
    message: `strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`,
  });
}

export interface ListQuery {
  limit?: string;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  sendInitialEvents?: string;
}

export type ListResult = { ok: true; body: object } | { ok: false; status: Status };

/** Items of a list response carry no kind/apiVersion, like the apiserver's typed lists. */
function listItem(obj: KubeObject): object {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = obj;
  return rest;
}

function validate(query: ListQuery): FieldError[] {
  const errors: FieldError[] = [];
  const match = query.resourceVersionMatch;
  if (match !== undefined && match !== '') {
    if (!query.resourceVersion) {
      errors.push({
        field: 'resourceVersionMatch',
        type: 'Forbidden',
        detail: 'resourceVersionMatch is forbidden unless resourceVersion is provided',
      });
    }
    if (query.continue) {
      errors.push({
        field: 'resourceVersionMatch',
        type: 'Forbidden',
        detail: 'resourceVersionMatch is forbidden when continue is provided',
      });
    }
    if (match !== 'Exact' && match !== 'NotOlderThan') {
      errors.push({
        field: 'resourceVersionMatch',
        type: 'NotSupported',
        detail: '',
        value: match,
        supported: ['Exact', 'NotOlderThan', ''],
      });
    }
    if (match === 'Exact' && query.resourceVersion === '0') {
      errors.push({
        field: 'resourceVersionMatch',
        type: 'Forbidden',
        detail: 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
      });
    }
  }
  if (query.sendInitialEvents !== undefined) {
    errors.push({
      field: 'sendInitialEvents',
      type: 'Forbidden',
      detail: 'sendInitialEvents is forbidden for list',
    });
  }
  return errors;
}

/** Serves one LIST request from the store. */
export function listObjects(
  store: Store,
  resource: ResourceInfo,
  filter: ObjectFilter,
  query: ListQuery,
): ListResult {
  const errors = validate(query);
  if (errors.length > 0) return { ok: false, status: invalidListOptions(errors) };

  let limit = 0;
  if (query.limit !== undefined && query.limit !== '') {
    if (!/^-?[0-9]+$/.test(query.limit)) {
      return { ok: false, status: invalidInteger(query.limit) };
    }
    limit = Math.max(0, Number(query.limit));
  }

  const current = store.resourceVersion;
  let snapshotRv: number;
  let objects: KubeObject[];
  let start = '';

  if (query.continue) {
    if (query.resourceVersion && query.resourceVersion !== '0') {
      return {
        ok: false,
        status: failureStatus(400, {
          message: 'specifying resource version is not allowed when using continue',
        }),
      };
    }
    const token = decodeContinue(query.continue);
    if (typeof token === 'string')
      return { ok: false, status: failureStatus(400, { message: `invalid continue token: ${token}` }) };
    start = token.start;
    if (token.rv === -1) {
      snapshotRv = current;
      objects = store.current(resource);
    } else {
      if (token.rv > current) return { ok: false, status: tooLargeResourceVersion(token.rv, current) };
      const state = store.stateAt(resource, token.rv);
      if (state === undefined) {
        return {
          ok: false,
          status: failureStatus(410, {
            reason: 'Expired',
            message: CONTINUE_EXPIRED_MESSAGE,
            metadata: { continue: encodeContinue(-1, token.start) },
          }),
        };
      }
      snapshotRv = token.rv;
      objects = state;
    }
  } else {
    const requested = parseResourceVersion(query.resourceVersion);
    if (requested !== undefined && Number.isNaN(requested)) {
      return { ok: false, status: badResourceVersion(query.resourceVersion ?? '') };
    }
    if (requested === undefined || requested === 0) {
      snapshotRv = current;
      objects = store.current(resource);
    } else if (requested > current) {
      return { ok: false, status: tooLargeResourceVersion(requested, current) };
    } else if (query.resourceVersionMatch === 'Exact') {
      const state = store.stateAt(resource, requested);
      if (state === undefined) {
        return {
          ok: false,
          status: failureStatus(410, {
            reason: 'Expired',
            message: `The resourceVersion for the provided list is too old.`,
          }),
        };
      }
      snapshotRv = requested;
      objects = state;
    } else {
      // NotOlderThan (or legacy unset match): the latest state is not older than the request.
      snapshotRv = current;
      objects = store.current(resource);
    }
  }

  const matching: KubeObject[] = [];
  for (const obj of objects) {
    if (start !== '' && objectKey(obj.metadata.namespace ?? '', obj.metadata.name ?? '') < start) continue;
    if (filterMatches(filter, obj)) matching.push(obj);
  }
  // resourceVersion=0 is served from the watch cache, which ignores `limit` (kubernetes#70735):
  // the whole list (or, with a continue token, all the rest of it) comes back in one page.
  const servedFromCache = query.resourceVersion === '0';
  const page = limit > 0 && !servedFromCache ? matching.slice(0, limit) : matching;
  const metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number } = {
    resourceVersion: String(snapshotRv),
  };
  if (page.length < matching.length) {
    const last = page[page.length - 1]!;
    metadata.continue = encodeContinue(
      snapshotRv,
      `${objectKey(last.metadata.namespace ?? '', last.metadata.name ?? '')}\u0000`,
    );
    if (filter.labels.empty && filter.fields.empty)
      metadata.remainingItemCount = matching.length - page.length;
  }
  return {
    ok: true,
    body: { kind: resource.listKind, apiVersion: resource.apiVersion, metadata, items: page.map(listItem) },
  };
}
