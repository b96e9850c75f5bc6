/**
 * The health of one Service's watch, with what the watch alone can tell about an empty answer: no
 * object at all for the Service (the Service does not exist, has no selector, or its name is
 * misspelt) is not the same as a Service whose pods are all gone, and a newcomer cannot tell them
 * apart from `{ endpoints: [] }`. Not an error: the Service may be created later.
 */
import { Observable } from 'rxjs';
import { objectKey } from '../watch/object-store.js';
import type { WatchHealth } from '../watch/watch-health.js';
import type { ChangeFeed } from './namespace-watch.js';

/** `feed`'s health; a `synced` state while the Service has no object carries `notice: absent`. */
export function serviceHealth(feed: ChangeFeed, absent: string): Observable<WatchHealth> {
  return new Observable<WatchHealth>((subscriber) => {
    const keys = new Set<string>();
    let health: WatchHealth | undefined;
    let sent: WatchHealth | undefined;
    const emit = () => {
      if (health === undefined) return;
      const next: WatchHealth =
        health.state === 'synced' && keys.size === 0 ? { ...health, notice: absent } : health;
      if (sent !== undefined && sameHealth(sent, next)) return;
      sent = next;
      subscriber.next(next);
    };
    const changes = feed.changes$.subscribe({
      next(change) {
        if (change.kind === 'replace') {
          keys.clear();
          for (const object of change.objects) keys.add(objectKey(object));
        } else {
          for (const object of change.deletes) keys.delete(objectKey(object));
          for (const object of change.upserts) keys.add(objectKey(object));
        }
        emit();
      },
      // The set stream reports these; health goes on until its own stream ends.
      error: () => {},
    });
    const states = feed.health$.subscribe({
      next(next) {
        health = next;
        emit();
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => subscriber.complete(),
    });
    return () => {
      changes.unsubscribe();
      states.unsubscribe();
    };
  });
}

function sameHealth(a: WatchHealth, b: WatchHealth): boolean {
  if (a === b) return true;
  return a.state === 'synced' && b.state === 'synced' && a.since === b.since && a.notice === b.notice;
}
