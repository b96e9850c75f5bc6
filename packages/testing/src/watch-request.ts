/**
 * WATCH request semantics: ListOptions validation for watches (watch-list included), the start point
 * from resourceVersion, and the initial lines (synthetic ADDED, replay, or the streaming-list bookmark).
 */
import { invalidInteger, parseResourceVersion } from './list.js';
import type { ResourceInfo } from './resources.js';
import { filterMatches, type ObjectFilter } from './selectors.js';
import { expiredStatus, type FieldError, failureStatus, invalidListOptions, type Status } from './status.js';
import type { Store } from './store.js';
import { bookmarkObject, eventFor, eventLine } from './watch-stream.js';

export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

export interface WatchQuery {
  resourceVersion?: string;
  resourceVersionMatch?: string;
  sendInitialEvents?: string;
  allowWatchBookmarks?: string;
  timeoutSeconds?: string;
  continue?: string;
}

export interface WatchPlan {
  ok: true;
  allowBookmarks: boolean;
  timeoutSeconds: number | undefined;
  /** The JSON lines to write before live events. */
  initial: string;
  /** The resourceVersion the initial lines bring a client to (their last event, or the state they show). */
  initialResourceVersion: number | undefined;
  /** Set when the start resourceVersion is compacted: send it as an in-stream ERROR, then end. */
  expired: Status | undefined;
  /**
   * Only changes after this resourceVersion reach the watch: set when it starts from a
   * resourceVersion the server has not reached yet (the apiserver accepts it and waits).
   */
  afterResourceVersion: number | undefined;
}

const isTrue = (value: string | undefined) => value === 'true' || value === '1';

function validate(query: WatchQuery, watchListEnabled: boolean): FieldError[] {
  const errors: FieldError[] = [];
  const sendInitialEvents =
    query.sendInitialEvents === undefined ? undefined : isTrue(query.sendInitialEvents);
  const match = query.resourceVersionMatch ?? '';
  if (sendInitialEvents !== undefined) {
    if (match !== 'NotOlderThan') {
      errors.push({
        field: 'resourceVersionMatch',
        type: 'Forbidden',
        detail: 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
      });
    }
    if (!watchListEnabled) {
      errors.push({
        field: 'sendInitialEvents',
        type: 'Forbidden',
        detail: 'sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled',
      });
    }
    // kube-apiserver 1.37 no longer requires allowWatchBookmarks: without it the initial events
    // come without their end bookmark.
  }
  if (match !== '') {
    if (sendInitialEvents === undefined) {
      errors.push({
        field: 'resourceVersionMatch',
        type: 'Forbidden',
        detail: 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
      });
    }
    if (match !== 'NotOlderThan') {
      errors.push({
        field: 'resourceVersionMatch',
        type: 'NotSupported',
        detail: '',
        value: match,
        supported: ['NotOlderThan'],
      });
    }
  }
  // A watch cannot continue a list: kube-apiserver 1.37 blames resourceVersionMatch even when none
  // was given.
  if (query.continue) {
    errors.push({
      field: 'resourceVersionMatch',
      type: 'Forbidden',
      detail: 'resourceVersionMatch is forbidden when continue is provided',
    });
  }
  return errors;
}

/**
 * Decides how a watch starts, or the Status to refuse it with. Synchronous with the caller's
 * subscription, so no store change can slip between the initial lines and the live events.
 */
export function planWatch(
  store: Store,
  resource: ResourceInfo,
  filter: ObjectFilter,
  query: WatchQuery,
  watchListEnabled: boolean,
): WatchPlan | { ok: false; status: Status } {
  const errors = validate(query, watchListEnabled);
  if (errors.length > 0) return { ok: false, status: invalidListOptions(errors) };

  const requested = parseResourceVersion(query.resourceVersion);
  if (requested !== undefined && Number.isNaN(requested)) {
    // The watch path of kube-apiserver answers a malformed resourceVersion with a bare 500 (the
    // list path says 400 BadRequest).
    const value = JSON.stringify(query.resourceVersion ?? '');
    const status = failureStatus(500, {
      message: `resourceVersion: Invalid value: ${value}: strconv.ParseUint: parsing ${value}: invalid syntax`,
    });
    const { reason: _reason, ...bare } = status;
    return { ok: false, status: bare as Status };
  }
  let timeoutSeconds: number | undefined;
  if (query.timeoutSeconds !== undefined && query.timeoutSeconds !== '') {
    if (!/^[0-9]+$/.test(query.timeoutSeconds)) {
      return { ok: false, status: invalidInteger(query.timeoutSeconds) };
    }
    timeoutSeconds = Number(query.timeoutSeconds) || undefined;
  }
  const current = store.resourceVersion;

  const sendInitialEvents =
    query.sendInitialEvents === undefined ? undefined : isTrue(query.sendInitialEvents);
  const matchingNow = () =>
    store
      .current(resource)
      .filter((o) => filterMatches(filter, o))
      .map((o) => eventLine('ADDED', o))
      .join('');
  const plan: WatchPlan = {
    ok: true,
    allowBookmarks: isTrue(query.allowWatchBookmarks),
    timeoutSeconds,
    initial: '',
    initialResourceVersion: undefined,
    expired: undefined,
    afterResourceVersion: undefined,
  };
  // The bookmark that ends the initial events, when bookmarks are allowed.
  const endOfInitialEvents = () =>
    plan.allowBookmarks
      ? eventLine('BOOKMARK', bookmarkObject(resource, current, { [INITIAL_EVENTS_END]: 'true' }))
      : '';
  if (sendInitialEvents === true) {
    // Streaming list: the state now, then the bookmark that marks its end (without bookmarks
    // allowed, kube-apiserver 1.37 sends the initial events alone).
    plan.initial = matchingNow() + endOfInitialEvents();
    plan.initialResourceVersion = current;
  } else if (requested === undefined || requested === 0) {
    // Legacy semantics: synthetic ADDED for the current state; sendInitialEvents=false starts from
    // now. kube-apiserver 1.37 (watch cache) ends the synthetic ADDED with the initial-events-end
    // bookmark too, when bookmarks are allowed.
    if (sendInitialEvents === undefined) plan.initial = matchingNow() + endOfInitialEvents();
    if (plan.initial !== '') plan.initialResourceVersion = current;
  } else if (requested > current) {
    // Ahead of the server: accepted (HTTP 200); it sees the changes once they pass that point.
    plan.afterResourceVersion = requested;
  } else {
    const events = store.eventsAfter(resource, requested);
    if (events === undefined) {
      plan.expired = expiredStatus(`too old resource version: ${requested} (${store.compactedBelow})`);
      plan.timeoutSeconds = undefined;
    } else {
      for (const ev of events) {
        const out = eventFor(ev, filter);
        if (out === undefined) continue;
        plan.initial += eventLine(out.type, out.object);
        plan.initialResourceVersion = ev.rv;
      }
    }
  }
  return plan;
}
