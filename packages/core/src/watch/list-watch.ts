import { setTimeout as sleep } from 'node:timers/promises';
import { Observable } from 'rxjs';
import { EndpointWatchError } from '../errors.js';
import { KubeTransportError } from '../transport/kube-api-error.js';
import type { KubeClient, KubeRequestOptions } from '../transport/kube-client.js';
import {
  WatchConnectionLostError,
  WatchDecodeError,
  WatchEventTooLargeError,
  WatchIdleError,
  WatchTruncatedError,
} from './errors.js';
import { DEFAULT_MAX_EVENT_BYTES, LineDecoder } from './line-decoder.js';
import { ListPageReader } from './list-page-reader.js';
import {
  type Command,
  ListWatchMachine,
  type ListWatchMachineOptions,
  type Step,
  type WatcherEvent,
} from './list-watch-machine.js';
import { readAvailable } from './read-available.js';
import { type KubeObject, parseWatchEvent, type WatchEvent } from './watch-event.js';
import type { WatchHealth } from './watch-health.js';
import type { WatchStats } from './watch-stats.js';
import { WatchWatchdog } from './watch-watchdog.js';

export interface ListWatchOptions extends ListWatchMachineOptions {
  /** Collection path, e.g. `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices`. */
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /**
   * Liveness: a watch that sends no complete event, not even a bookmark, for this long is presumed
   * dead (half-open TCP, a peer dripping bytes) and reopened from its resourceVersion. The apiserver
   * sends a bookmark about every minute. A watch that outlives its `timeoutSeconds` by 15 s is
   * ended too. Default 150 s.
   */
  readonly idleTimeoutMs?: number;
  /**
   * Every other silence: the longest wait for response headers (LIST and WATCH), and between two
   * chunks of a LIST body. Default 60 s.
   */
  readonly silenceTimeoutMs?: number;
  /** Cap on one event's size. Default 16 MiB. */
  readonly maxEventBytes?: number;
  /** Cap on one LIST page's body; a longer one fails with `ERR_KUBE_RESPONSE_TOO_LARGE`. Default 128 MiB. */
  readonly maxListBytes?: number;
  /** Each emission makes the watch start over with a fresh list, after backoff (the consumer met an object it cannot use). */
  readonly resync?: Observable<unknown>;
  /**
   * Rewrites each object (of a list, or of an ADDED / MODIFIED / DELETED event) as soon as it is
   * decoded, before anything else sees it (client-go's `TransformFunc`, kube-rs' `modify`): the raw
   * object then dies young. One that throws rejects its object: the events before it are delivered
   * and the watch starts over with a fresh list after backoff, reporting the error in `health`
   * (an object is never skipped).
   */
  readonly transform?: (object: KubeObject) => KubeObject;
  /** Counters this loop adds to (relists, watch events and bytes decoded); see `WatchStats`. */
  readonly stats?: WatchStats;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** Data (`events`, one batch per network read or list page) and `health` changes, in order. */
export type ListWatchNotification =
  | { readonly kind: 'events'; readonly events: readonly WatcherEvent[] }
  | { readonly kind: 'health'; readonly health: WatchHealth };

export const DEFAULT_IDLE_TIMEOUT_MS = 150_000;
export const DEFAULT_SILENCE_TIMEOUT_MS = 60_000;
/** Lets up to 1 MiB of events pile up while the consumer works, to be applied as one batch. */
const WATCH_HIGH_WATER_MARK = 1024 * 1024;

/** Stands for a step already delivered (it has no command: the loop never runs it). */
const NO_STEP: Step = Object.freeze({ events: [] });

/** The events whose object is a watched object (not a Status, not a bookmark). */
const OBJECT_EVENTS: ReadonlySet<WatchEvent['type']> = new Set(['ADDED', 'MODIFIED', 'DELETED']);

/**
 * The I/O shell around `ListWatchMachine`: runs its LISTs, WATCHes and sleeps with the client,
 * one subscription = one list+watch loop. Never errors on apiserver or network faults (they show
 * as `health`); unsubscribing aborts the request in flight and any pending sleep.
 */
export function listWatch(client: KubeClient, options: ListWatchOptions): Observable<ListWatchNotification> {
  return new Observable<ListWatchNotification>((subscriber) => {
    const lifetime = new AbortController();
    let operation: AbortController | undefined;
    let resyncError: { error: unknown } | undefined;
    const resyncSubscription = options.resync?.subscribe((error) => {
      resyncError = { error };
      operation?.abort();
    });
    const now = options.now ?? Date.now;
    const transform = options.transform;
    /** One watch line as an event, its object transformed; `rejected` when the transform threw. */
    const decodeEvent = (line: string): WatchEvent | { readonly rejected: unknown } => {
      const event = parseWatchEvent(line);
      if (!transform || !OBJECT_EVENTS.has(event.type)) return event;
      try {
        return { type: event.type, object: transform(event.object) };
      } catch (rejected) {
        return { rejected };
      }
    };
    const machine = new ListWatchMachine(options, now, options.random);
    const stats = options.stats;
    /** The machine's relists already added to `stats`. */
    let relistsCounted = 0;
    const deliver = (step: Step) => {
      // Every step that starts a list carries a command, so it is delivered here.
      if (stats && machine.relists !== relistsCounted) {
        stats.relists += machine.relists - relistsCounted;
        relistsCounted = machine.relists;
      }
      if (step.events.length > 0) subscriber.next({ kind: 'events', events: step.events });
      if (step.health) subscriber.next({ kind: 'health', health: step.health });
    };
    const selectors = {
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
    };
    const silenceTimeoutMs = options.silenceTimeoutMs ?? DEFAULT_SILENCE_TIMEOUT_MS;
    const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;

    const perform = async (command: Command, signal: AbortSignal): Promise<Step> => {
      switch (command.kind) {
        case 'sleep':
          await sleep(command.delayMs, undefined, { signal });
          return machine.handle({ kind: 'slept' });
        case 'list': {
          const reader = new ListPageReader(options.path, transform);
          await readListBody(client, options.path, reader, {
            query: { ...selectors, ...command.query },
            signal,
            headersTimeoutMs: silenceTimeoutMs,
            bodyTimeoutMs: silenceTimeoutMs,
            ...(options.maxListBytes === undefined ? {} : { maxBodyBytes: options.maxListBytes }),
          });
          const page = reader.end();
          if (!page) throw new WatchDecodeError(`LIST ${options.path} did not return a List`);
          if ('rejected' in page) return machine.handle({ kind: 'resync', error: page.rejected });
          return machine.handle({
            kind: 'listPage',
            items: page.items,
            resourceVersion: page.resourceVersion,
            continue: page.continue,
          });
        }
        case 'watch':
          return watch(command.query, signal);
      }
    };

    const watch = async (query: Extract<Command, { kind: 'watch' }>['query'], signal: AbortSignal) => {
      const startedAt = now();
      const stream = await client.stream(options.path, {
        query: { ...selectors, watch: true, ...query },
        signal,
        headersTimeoutMs: silenceTimeoutMs,
        // Byte-level silence; the watchdog below bounds the silence between complete events.
        bodyTimeoutMs: idleTimeoutMs,
        highWaterMark: WATCH_HIGH_WATER_MARK,
      });
      const decoder = new LineDecoder(options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES);
      const watchdog = new WatchWatchdog(idleTimeoutMs, query.timeoutSeconds, (error) =>
        stream.body.destroy(error),
      );
      // An open watch that stays quiet without an error is current (see ListWatchMachine).
      const settled = setTimeout(
        () => deliver(machine.handle({ kind: 'watchSettled' })),
        machine.minWatchDurationMs,
      );
      let batch: WatcherEvent[] = [];
      /** A health change met inside the batch: told after its events, so a burst stays one batch. */
      let health: WatchHealth | undefined;
      const flush = () => {
        if (batch.length > 0) subscriber.next({ kind: 'events', events: batch });
        batch = [];
        if (health) subscriber.next({ kind: 'health', health });
        health = undefined;
      };
      /** Lines decoded in the current read; added to `stats` once per read (and in `finally`), not per line. */
      let lines = 0;
      try {
        deliver(machine.handle({ kind: 'watchOpened' }));
        for await (const chunks of readAvailable(stream.body, WATCH_HIGH_WATER_MARK)) {
          for (const chunk of chunks) {
            if (stats) stats.bytesDecoded += chunk.length;
            decoder.feed(chunk);
            for (let line = decoder.nextLine(); line !== undefined; line = decoder.nextLine()) {
              const event = decodeEvent(line);
              lines++;
              if ('rejected' in event) {
                flush();
                return machine.handle({ kind: 'resync', error: event.rejected });
              }
              const step = machine.handle({ kind: 'watchEvent', event });
              if (step.command) {
                // The stream is over for the machine; the run loop delivers this step.
                flush();
                return step;
              }
              batch.push(...step.events);
              if (step.health) health = step.health;
            }
          }
          if (lines > 0) {
            watchdog.event();
            if (stats) stats.eventsDecoded += lines;
            lines = 0;
          }
          // Everything that arrived while we were busy is one batch: a burst becomes one endpoint set.
          flush();
        }
      } catch (error) {
        // Events decoded before the failure are real and the machine has moved past them: deliver.
        flush();
        // Ours (unsubscribe, resync), or a bad event: not a lost connection.
        if (signal.aborted || error instanceof WatchDecodeError || error instanceof WatchEventTooLargeError)
          throw error;
        return machine.handle({
          kind: 'watchLost',
          error: streamFailure(error, idleTimeoutMs),
          durationMs: now() - startedAt,
        });
      } finally {
        // The read that ended the watch early (a command, a rejected object, a bad line) is counted here.
        if (stats) stats.eventsDecoded += lines;
        clearTimeout(settled);
        watchdog.stop();
        stream.destroy();
      }
      if (decoder.pendingBytes > 0) {
        return machine.handle({
          kind: 'watchLost',
          error: new WatchTruncatedError(decoder.pendingBytes),
          durationMs: now() - startedAt,
        });
      }
      return machine.handle({ kind: 'watchEnded', durationMs: now() - startedAt });
    };

    const run = async () => {
      let step = machine.handle({ kind: 'start' });
      while (!lifetime.signal.aborted) {
        deliver(step);
        // A subscriber may leave inside that emission (`take(1)`, `firstValueFrom`): then nothing
        // more may start, or the WATCH after a LIST would open with no one to abort it.
        if (lifetime.signal.aborted) return;
        const command = step.command;
        if (!command) throw new Error('ListWatchMachine returned no command');
        // The step's events are delivered: holding the step through the next operation would keep
        // a whole LIST's objects (their first versions) alive for as long as the watch runs.
        step = NO_STEP;
        // One controller per operation, aborted by unsubscribe or by a resync request.
        operation = new AbortController();
        try {
          step = await perform(command, operation.signal);
        } catch (error) {
          // Unsubscribed, or the client was closed under us: the stream is over, not failing.
          if (lifetime.signal.aborted || isClientClosed(error)) return;
          if (!resyncError) step = machine.handle({ kind: 'failed', error });
        }
        if (resyncError && !lifetime.signal.aborted) {
          step = machine.handle({ kind: 'resync', error: resyncError.error });
          resyncError = undefined;
        }
      }
    };

    run().then(
      () => subscriber.complete(),
      (error: unknown) => subscriber.error(error),
    );
    return () => {
      lifetime.abort();
      operation?.abort();
      resyncSubscription?.unsubscribe();
    };
  });
}

function isClientClosed(error: unknown): boolean {
  return error instanceof KubeTransportError && error.code === 'ERR_KUBE_CLIENT_CLOSED';
}

/** A broken watch body as a typed error (the watchdog's own errors are typed already). */
function streamFailure(error: unknown, idleTimeoutMs: number): unknown {
  if (!(error instanceof Error) || error instanceof EndpointWatchError) return error;
  if ((error as { code?: unknown }).code === 'UND_ERR_BODY_TIMEOUT') {
    return new WatchIdleError(idleTimeoutMs, { cause: error });
  }
  return new WatchConnectionLostError(error.message, { cause: error });
}

/**
 * Reads a LIST page's body into `reader`. Its items are parsed and transformed as the body arrives,
 * but after the event loop has read what the socket holds (a check-phase drain): parsing inside the
 * read loop held the socket back while the server waited (on loopback, first set at 100k 0.90-0.97 x
 * and at 10k 0.92-1.0 x the time of the in-loop form; docs/PERFORMANCE.md), while over a slow link
 * the parse still overlaps the transfer.
 */
export async function readListBody(
  client: KubeClient,
  path: string,
  reader: ListPageReader,
  request: KubeRequestOptions,
): Promise<void> {
  const queued: Buffer[] = [];
  let drainer: NodeJS.Immediate | undefined;
  // Kept for the end of the request: a throw from an immediate would be an uncaught exception.
  let failure: { readonly error: unknown } | undefined;
  const drain = () => {
    drainer = undefined;
    try {
      if (failure === undefined) for (let i = 0; i < queued.length; i++) reader.feed(queued[i]!);
    } catch (error) {
      failure = { error };
    }
    queued.length = 0;
  };
  try {
    await client.readBody(path, request, (chunk) => {
      queued.push(chunk);
      drainer ??= setImmediate(drain);
    });
  } finally {
    if (drainer !== undefined) clearImmediate(drainer);
  }
  drain();
  if (failure !== undefined) throw failure.error;
}
