/**
 * What changed, as short log lines: between two endpoint sets (`+` joined, `-` left, `~` conditions
 * changed), between two watch health states, between two balancer stats (ejections). Pure.
 */
import { type BalancerStats, endpointKey } from '@endpoint-watch/balancer';
import type { Endpoint, EndpointSet, WatchHealth } from '@endpoint-watch/core';
import { type ErrorContext, shortError } from '../errors.js';
import { compareEndpoints, countEndpoints, describeCounts, endpointState, expiredRelist } from './model.js';

/** At most this many lines per change; the rest is summed up in one line. */
export const MAX_CHANGE_LINES = 8;

export function endpointChanges(previous: EndpointSet | undefined, next: EndpointSet): string[] {
  const first = previous === undefined;
  const before = new Map((previous?.all ?? []).map((e) => [endpointKey(e), e]));
  const after = new Map(next.all.map((e) => [endpointKey(e), e]));
  const lines: { endpoint: Endpoint; text: string }[] = [];
  for (const [key, endpoint] of after) {
    const old = before.get(key);
    if (!old) lines.push({ endpoint, text: `+ ${label(endpoint)}: ${endpointState(endpoint)}` });
    else if (endpointState(old) !== endpointState(endpoint)) {
      lines.push({
        endpoint,
        text: `~ ${label(endpoint)}: ${endpointState(old)} → ${endpointState(endpoint)}`,
      });
    }
  }
  for (const [key, endpoint] of before) {
    if (!after.has(key)) lines.push({ endpoint, text: `- ${label(endpoint)}: removed` });
  }
  lines.sort((a, b) => compareEndpoints(a.endpoint, b.endpoint));
  const texts = lines.map((l) => l.text);
  const head = first
    ? [
        `first set: ${describeCounts(countEndpoints(next))} (rv ${next.resourceVersion ?? '-'}, ${next.source})`,
      ]
    : [];
  if (texts.length <= MAX_CHANGE_LINES) return [...head, ...texts];
  return [
    ...head,
    ...texts.slice(0, MAX_CHANGE_LINES - 1),
    `… and ${texts.length - MAX_CHANGE_LINES + 1} more changes (${describeCounts(countEndpoints(next))})`,
  ];
}

/** A line when the watch's health changes state (or fails again with another error); else undefined. */
export function healthChange(
  previous: WatchHealth | undefined,
  next: WatchHealth,
  context: ErrorContext = {},
): string | undefined {
  switch (next.state) {
    case 'connecting':
      if (next.notice) return `watch connecting: ${next.notice}`;
      return previous?.state === 'connecting' ? undefined : 'watch connecting';
    case 'resuming':
      // The server ends every watch after a few minutes: routine, not worth a line. A cut is.
      return next.error === undefined
        ? undefined
        : `watch resuming from rv ${next.resourceVersion}: ${shortError(next.error, context)}`;
    case 'synced': {
      // A routine renewal (the server ended the watch; it was reopened at once) has nothing to tell.
      if (previous?.state === 'resuming' && previous.error === undefined) return undefined;
      // The notice (no object for the Service at all) is told when it comes, not while it lasts.
      const notice = next.notice === undefined ? '' : `: ${next.notice}`;
      if (previous?.state !== 'synced') return `watch synced at rv ${next.resourceVersion}${notice}`;
      return notice && previous.notice !== next.notice ? `watch synced${notice}` : undefined;
    }
    case 'retrying': {
      const relist = expiredRelist(next);
      if (relist) return `watch relisting: ${relist.what} (${relist.status})`;
      const error = shortError(next.error, context);
      if (
        previous?.state === 'retrying' &&
        !expiredRelist(previous) &&
        shortError(previous.error, context) === error
      ) {
        return undefined;
      }
      return `watch retrying (attempt ${next.attempt}, next in ${(next.retryInMs / 1000).toFixed(1)} s): ${error}`;
    }
  }
}

/** Lines for endpoints ejected by outlier detection or back from ejection, and for panic mode. */
export function balancerChanges(previous: BalancerStats | undefined, next: BalancerStats): string[] {
  const lines: string[] = [];
  const before = new Map((previous?.endpoints ?? []).map((e) => [e.key, e]));
  for (const endpoint of next.endpoints) {
    const old = before.get(endpoint.key);
    if (endpoint.ejected && !old?.ejected) {
      const until =
        endpoint.ejectedUntil === undefined
          ? ''
          : ` for ${Math.round((endpoint.ejectedUntil - next.at) / 1000)} s`;
      lines.push(`${endpoint.key} ejected by outlier detection (consecutive failures)${until}`);
    } else if (!endpoint.ejected && old?.ejected) {
      lines.push(`${endpoint.key} back from ejection`);
    }
  }
  if (next.panic && !previous?.panic)
    lines.push('panic: too few healthy endpoints, balancing over all of them');
  if (!next.panic && previous?.panic) lines.push('panic over');
  return lines;
}

function label(endpoint: Endpoint): string {
  const pod = endpoint.targetRef?.name;
  return pod ? `${endpointKey(endpoint)} (${pod})` : endpointKey(endpoint);
}
