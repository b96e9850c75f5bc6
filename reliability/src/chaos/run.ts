/**
 * One chaos run: a fake apiserver, loopback pods, two clients (paged LIST and streaming list)
 * watching several Services, a mutator, the seeded fault schedule and the adapters' request loops.
 * Everything that decides is in the pure modules; this file wires them to sockets and timers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createKubeClient,
  type EndpointSet,
  type KubeClient,
  loadKubeConfig,
  type WatchHealth,
  watchEndpoints,
  watchEndpointsHealth,
} from '@endpoint-watch/core';
import {
  endpointSlice,
  type LoopbackPods,
  seededRandom,
  startFakeApiServer,
  startLoopbackPods,
  type WatchInfo,
} from '@endpoint-watch/testing';
import type { Observable, Subscription } from 'rxjs';
import { ConvergenceTracker } from '../checks/convergence.js';
import { checkHealth, type HealthChange } from '../checks/health.js';
import { checkPromptReconnect, type EndedWatch } from '../checks/reconnect.js';
import { judgeFailure } from '../checks/requests.js';
import { checkBackoffCap, checkErrorBodies, SilenceChecker } from '../checks/retries.js';
import { SetHistoryChecker } from '../checks/sets.js';
import { describeError } from '../describe-error.js';
import type { Violation } from '../invariants.js';
import { Churn, type ChurnService, type Mutation } from '../model/churn.js';
import { type EndpointState, stateKey, stateOf, trueState } from '../model/reference.js';
import { TruthTimeline } from '../model/truth.js';
import { type FaultContext, type FaultLog, startFault } from './apply-fault.js';
import { faultDurationMs, faultSchedule, type ScheduledFault } from './schedule.js';
import { REQUEST_ID_HEADER, startTraffic, type Traffic } from './traffic.js';
import { BOOKMARK_INTERVAL_MS, CHAOS_TUNING, CONVERGENCE_BOUND_MS, GRACE_MS, REOPEN_MS } from './tuning.js';

export interface ChaosOptions {
  readonly seed: number;
  /** How long faults and churn go on; convergence is waited for after. */
  readonly durationMs: number;
  /** Services with random churn (the adapters' Service comes on top). Default 3. */
  readonly services?: number;
  /** Mean mutations per second, over all Services. Default 15. */
  readonly mutationsPerSecond?: number;
  /** Mean apiserver faults per second. Default 0.8. */
  readonly faultsPerSecond?: number;
  /** Mean pod deaths per second. Default 0.3. */
  readonly podKillsPerSecond?: number;
  /** Size of the huge error bodies. Default 16 MiB. */
  readonly hugeBodyBytes?: number;
  /** Drive the undici and axios adapters over dying pods. Default true. */
  readonly adapters?: boolean;
  /** Progress lines (faults as they are injected, violations as they are found). */
  readonly log?: (line: string) => void;
}

export interface StreamSummary {
  readonly stream: string;
  readonly sets: number;
  readonly healthChanges: number;
  readonly watches: number;
  /** ms from the end of the faults to the final state while synced; undefined: not within the bound. */
  readonly convergedAfterMs: number | undefined;
}

export interface ChaosResult {
  readonly seed: number;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly schedule: readonly ScheduledFault[];
  /** What was really injected, as `{ at, fault }` with `at` relative to the start. */
  readonly injected: readonly ScheduledFault[];
  readonly mutations: number;
  readonly streams: readonly StreamSummary[];
  readonly requests: { readonly sent: number; readonly failed: number };
  /** Huge error bodies the server sent, and how many of them the clients read to the end. */
  readonly hugeBodies: { readonly answered: number; readonly readWhole: number };
  readonly violations: readonly Violation[];
  readonly convergenceBoundMs: number;
  /**
   * The longest the event loop of this process (clients and server alike) was late during the run,
   * in ms: added to every timing bound's grace, since no client can keep a deadline while it is not
   * scheduled (a loaded machine). Small on a quiet machine.
   */
  readonly eventLoopLagMaxMs: number;
}

const NAMESPACE = 'chaos';
const PODS_SERVICE = 'pods';
const POD_COUNT = 5;
const SERVICE_LABEL = 'kubernetes.io/service-name';
/**
 * Two clients: paged LIST and streaming list. The first bounds its connections, as a user may, below
 * the number of its watches (four): no watch may wait for a connection another one holds.
 */
const CLIENTS = [
  { name: 'list', initialList: 'list', connections: 2 },
  { name: 'streaming', initialList: 'auto', connections: undefined },
] as const;

interface Stream {
  readonly name: string;
  readonly client: string;
  readonly service: string;
  readonly sets: Observable<EndpointSet>;
  setCount: number;
  readonly health: HealthChange[];
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => {});
  const startedAt = Date.now();
  const violations: Violation[] = [];
  const report = (found: readonly Violation[]) => {
    for (const v of found) {
      violations.push(v);
      log(`VIOLATION ${v.invariant} at +${v.at - startedAt} ms ${v.stream ?? ''}: ${v.message}`);
    }
  };
  const onUnhandled = (error: unknown) =>
    report([{ invariant: 'no-unhandled', at: Date.now(), message: describeError(error) }]);
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);

  const cleanup: Array<() => unknown> = [];
  try {
    return await run(options, startedAt, report, log, cleanup, violations);
  } finally {
    for (const step of cleanup.reverse()) {
      try {
        await step();
      } catch (error) {
        log(`cleanup: ${describeError(error)}`);
      }
    }
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  }
}

async function run(
  options: ChaosOptions,
  startedAt: number,
  report: (found: readonly Violation[]) => void,
  log: (line: string) => void,
  cleanup: Array<() => unknown>,
  violations: readonly Violation[],
): Promise<ChaosResult> {
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  cleanup.push(() => lag.disable());
  const lagMaxMs = () => Math.ceil(lag.max / 1e6);
  const graceMs = () => GRACE_MS + lagMaxMs();
  const seed = options.seed;
  const dir = mkdtempSync(join(tmpdir(), 'endpoint-watch-chaos-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'token-0');
  const server = await startFakeApiServer({
    token: 'token-0',
    bookmarkIntervalMs: BOOKMARK_INTERVAL_MS,
  });
  cleanup.push(() => server.close());

  // Pods record which request ids they saw: a failed request is matched with them.
  const seenBy = new Map<string, string[]>();
  const pods: LoopbackPods | undefined =
    options.adapters === false
      ? undefined
      : await startLoopbackPods({
          count: POD_COUNT,
          handler: (req, _res, pod) => {
            const id = req.headers[REQUEST_ID_HEADER];
            if (typeof id === 'string') entry(seenBy, id, () => []).push(pod.address);
            return false;
          },
        });
  if (pods !== undefined) {
    cleanup.push(() => pods.close());
    // Headers first and the body a little later, so a pod can die in the middle of an answer.
    for (const pod of pods.pods) {
      pod.delayMs = 5;
      pod.bodyDelayMs = 15;
    }
  }

  // The Services and the truth about them.
  const serviceNames = Array.from({ length: options.services ?? 3 }, (_, i) => `svc-${i}`);
  const churnServices: ChurnService[] = serviceNames.map((name, i) => ({
    name,
    addresses: Array.from({ length: 6 }, (_, j) => `10.${i}.0.${j + 1}`),
    port: 8080,
  }));
  // At most 2 pods are dead at once and outlier detection ejects at most 1 (of fewer than 20): with
  // 3 of 5 ready in every state, a request has 3 attempts over 3 ready pods, and once the live
  // candidates are all tried, a retry goes to an untried ejected pod before a dead one, so a request
  // that never reached a pod has no excuse to fail.
  if (pods !== undefined)
    churnServices.push({ name: PODS_SERVICE, addresses: pods.addresses, port: pods.port, minReady: 3 });
  const truths = new Map(churnServices.map((s) => [s.name, new TruthTimeline()]));
  const recordTruth = (service: string) => {
    truths.get(service)!.record(
      Number(server.resourceVersion),
      trueState(server.list('EndpointSlice', NAMESPACE), {
        namespace: NAMESPACE,
        service,
        portName: 'http',
      }),
    );
  };
  const apply = (mutation: Mutation) => {
    const writeAll = () => {
      for (const write of mutation.writes) {
        if (write.kind === 'upsert') server.upsert(endpointSlice(write.spec));
        else server.delete('EndpointSlice', write.namespace, write.name);
        // After every write: the states inside a batch are real too (a cut can stop a client there).
        recordTruth(mutation.service);
      }
    };
    if (mutation.batch) server.batch(writeAll);
    else writeAll();
  };
  const churn = new Churn(seededRandom(seed ^ 0x5eed), NAMESPACE, churnServices);
  for (const service of churnServices) recordTruth(service.name);
  for (const mutation of churn.initial()) apply(mutation);

  // What the server knows about watches and requests, by stream.
  const streamOf = (headers: Readonly<Record<string, string>>, query: Readonly<Record<string, string>>) => {
    const client = headers['user-agent']?.replace(/^chaos\//, '');
    const service = query.labelSelector?.startsWith(`${SERVICE_LABEL}=`)
      ? query.labelSelector.slice(SERVICE_LABEL.length + 1)
      : undefined;
    return client === undefined || service === undefined ? undefined : `${client}/${service}`;
  };
  const watchesByStream = new Map<string, Map<number, WatchInfo>>();
  cleanup.push(
    server.onWatchChange((info) => {
      const stream = streamOf(info.headers, info.query);
      if (stream !== undefined) entry(watchesByStream, stream, () => new Map()).set(info.id, info);
    }),
  );
  const requestTimes = new Map<string, number[]>();
  const drainRequests = () => {
    for (const r of server.requests) {
      const stream = streamOf(r.headers, r.query);
      if (stream !== undefined) entry(requestTimes, stream, () => []).push(r.receivedAt);
    }
    server.clearRequests();
  };

  // Clients and streams.
  const clients = new Map<string, KubeClient>();
  for (const c of CLIENTS) {
    const client = createKubeClient(loadKubeConfig({ server: server.url, tokenFile }), {
      userAgent: `chaos/${c.name}`,
      ...(c.connections === undefined ? {} : { connections: c.connections }),
    });
    clients.set(c.name, client);
    cleanup.push(() => client.close());
  }
  const checker = new SetHistoryChecker(truths);
  const convergence = new ConvergenceTracker();
  const silence = new SilenceChecker(() => CHAOS_TUNING.silenceTimeoutMs + graceMs());
  const subscriptions: Subscription[] = [];
  cleanup.push(() => {
    for (const s of subscriptions) s.unsubscribe();
  });
  let stopping = false;
  const streams: Stream[] = [];
  for (const c of CLIENTS) {
    const services = c.name === 'list' && pods !== undefined ? [...serviceNames, PODS_SERVICE] : serviceNames;
    for (const service of services) {
      const watchOptions = {
        namespace: NAMESPACE,
        service,
        port: 'http',
        watch: { ...CHAOS_TUNING, initialList: c.initialList },
      } as const;
      const client = clients.get(c.name)!;
      const stream: Stream = {
        name: `${c.name}/${service}`,
        client: c.name,
        service,
        sets: watchEndpoints(client, watchOptions),
        setCount: 0,
        health: [],
      };
      streams.push(stream);
      const ended = (how: string) => () => {
        if (!stopping)
          report([{ invariant: 'no-stream-error', at: Date.now(), stream: stream.name, message: how }]);
      };
      subscriptions.push(
        stream.sets.subscribe({
          next: (set) => onSet(stream, set),
          error: (error: unknown) => ended(`the endpoint stream errored: ${describeError(error)}`)(),
          complete: ended('the endpoint stream completed'),
        }),
        watchEndpointsHealth(client, watchOptions).subscribe({
          next: (health) => onHealth(stream, health),
          error: (error: unknown) => ended(`the health stream errored: ${describeError(error)}`)(),
          complete: ended('the health stream completed'),
        }),
      );
    }
  }
  function onSet(stream: Stream, set: EndpointSet): void {
    const at = Date.now();
    stream.setCount++;
    const state: EndpointState = stateOf(set.all);
    report(
      checker.observe({
        at,
        stream: stream.name,
        service: stream.service,
        resourceVersion: set.resourceVersion,
        state,
      }),
    );
    convergence.onSet(stream.name, at, stateKey(state));
  }
  function onHealth(stream: Stream, health: WatchHealth): void {
    const at = Date.now();
    stream.health.push({ at, state: health.state });
    convergence.onHealth(stream.name, at, health.state);
    if (health.state !== 'retrying') return;
    const retryAfterMs = (health.error as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
    const violation = checkBackoffCap(
      {
        at,
        stream: stream.name,
        retryInMs: health.retryInMs,
        retryAfterMs: typeof retryAfterMs === 'number' ? retryAfterMs : undefined,
        error: describeError(health.error),
      },
      { backoffMaxMs: CHAOS_TUNING.backoff.maxMs, maxRetryAfterMs: CHAOS_TUNING.maxRetryAfterMs },
    );
    if (violation !== undefined) report([violation]);
  }

  // Periodic bookkeeping: silent requests, drained request log, forgotten truth.
  const poll = setInterval(() => {
    report(silence.observe(Date.now(), server.faults.held()));
    drainRequests();
    for (const [service, truth] of truths) {
      const lowest = checker.lowestResourceVersion(
        streams.filter((s) => s.service === service).map((s) => s.name),
      );
      if (lowest !== undefined) truth.forgetBefore(lowest);
    }
  }, 100);
  cleanup.push(() => clearInterval(poll));

  // The mutator.
  let mutations = 0;
  const mutationRandom = seededRandom(seed ^ 0xc0ffee);
  const mutationsPerSecond = options.mutationsPerSecond ?? 15;
  let mutating = true;
  const mutator = (async () => {
    while (mutating) {
      await sleep((-Math.log(1 - mutationRandom()) / mutationsPerSecond) * 1000);
      if (!mutating) break;
      apply(churn.next());
      mutations++;
    }
  })();

  const faultLog: FaultLog = { stalls: [], downtimes: [], deaths: [], badEvents: [] };

  // The adapters, once the pods' set is there.
  let traffic: Traffic | undefined;
  let failed = 0;
  if (pods !== undefined) {
    const podsStream = streams.find((s) => s.service === PODS_SERVICE)!;
    await waitFor(() => podsStream.setCount > 0, 10_000, 'the first set of the pods Service');
    traffic = startTraffic({
      endpoints: podsStream.sets,
      url: `http://${PODS_SERVICE}.${NAMESPACE}.svc:${pods.port}`,
      seed,
      loops: 3,
      pauseMs: 20,
      maxRequestsPerLoop: Math.ceil(options.durationMs / 10) + 1000,
      seenBy,
      onOutcome: (outcome) => {
        seenBy.delete(outcome.id);
        if (outcome.error === undefined) return;
        failed++;
        const violation = judgeFailure(outcome, faultLog.deaths);
        if (violation !== undefined) report([violation]);
      },
    });
  }

  // The faults.
  const context: FaultContext = { server, pods, tokenFile, log: faultLog, rotations: 0, restarts: new Set() };
  const schedule = chaosSchedule(options);
  const injected: ScheduledFault[] = [];
  const pendingEnds = new Set<() => void>();
  const timers = new Set<NodeJS.Timeout>();
  const faultsStartAt = Date.now();
  for (const entry of schedule) {
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        injected.push({ at: Date.now() - startedAt, fault: entry.fault });
        log(`+${Date.now() - startedAt} ms ${JSON.stringify(entry.fault)}`);
        const end = startFault(entry.fault, context);
        if (end === undefined) return;
        pendingEnds.add(end);
        const endTimer = setTimeout(() => {
          timers.delete(endTimer);
          if (pendingEnds.delete(end)) end();
        }, faultDurationMs(entry.fault));
        timers.add(endTimer);
      },
      Math.max(0, faultsStartAt + entry.at - Date.now()),
    );
    timers.add(timer);
  }
  cleanup.push(() => {
    for (const timer of timers) clearTimeout(timer);
  });

  await sleep(Math.max(0, faultsStartAt + options.durationMs - Date.now()));

  // Heal: stop the churn and the schedule, end every fault that lasts, clear the rest.
  mutating = false;
  await mutator;
  for (const timer of timers) clearTimeout(timer);
  timers.clear();
  for (const end of [...pendingEnds]) end();
  pendingEnds.clear();
  server.faults.clear();
  await Promise.all(context.restarts);
  if (pods !== undefined) await Promise.all(pods.pods.map((pod) => pod.restart()));
  const faultsEndedAt = Date.now();
  log(
    `+${faultsEndedAt - startedAt} ms faults cleared; waiting up to ${CONVERGENCE_BOUND_MS} ms for convergence`,
  );
  convergence.faultsEnded(
    faultsEndedAt,
    new Map(streams.map((s) => [s.name, truths.get(s.service)!.latest!.key])),
  );
  await waitFor(() => convergence.pending.length === 0, CONVERGENCE_BOUND_MS, '').catch(() => undefined);
  const sent = (await traffic?.stop()) ?? 0;
  // A short quiet time after convergence, so the health checks see the end of every stall they saw begin.
  await sleep(GRACE_MS);
  const end = Date.now();
  stopping = true;
  drainRequests();

  const { times, violations: late } = convergence.result(CONVERGENCE_BOUND_MS);
  report(late);
  const padded = server.faults.paddedAnswers();
  const readWhole = checkErrorBodies(padded, startedAt);
  report(readWhole);
  for (const stream of streams) {
    const lives = [...(watchesByStream.get(stream.name)?.values() ?? [])].sort(
      (a, b) => a.openedAt - b.openedAt,
    );
    report(
      checkHealth({
        stream: stream.name,
        changes: stream.health,
        watches: lives,
        stalls: faultLog.stalls,
        end,
        graceMs: graceMs(),
        idleTimeoutMs: CHAOS_TUNING.idleTimeoutMs,
      }),
    );
    report(
      checkPromptReconnect({
        stream: stream.name,
        watches: lives as EndedWatch[],
        requestTimes: requestTimes.get(stream.name) ?? [],
        downtimes: faultLog.downtimes,
        badEvents: faultLog.badEvents,
        end,
        reopenMs: REOPEN_MS,
        graceMs: graceMs(),
      }),
    );
  }

  const eventLoopLagMaxMs = lagMaxMs();
  lag.disable();
  return {
    seed,
    startedAt,
    durationMs: options.durationMs,
    schedule,
    injected,
    mutations,
    streams: streams.map((s) => ({
      stream: s.name,
      sets: s.setCount,
      healthChanges: s.health.length,
      watches: watchesByStream.get(s.name)?.size ?? 0,
      convergedAfterMs: times.get(s.name),
    })),
    requests: { sent, failed },
    hugeBodies: { answered: padded.length, readWhole: readWhole.length },
    violations: [...violations].sort((a, b) => a.at - b.at),
    convergenceBoundMs: CONVERGENCE_BOUND_MS,
    eventLoopLagMaxMs,
  };
}

/** The fault schedule a run with these options follows (a pure function of them). */
export function chaosSchedule(options: ChaosOptions): ScheduledFault[] {
  return faultSchedule({
    seed: options.seed,
    durationMs: options.durationMs,
    faultsPerSecond: options.faultsPerSecond ?? 0.8,
    podKillsPerSecond: options.adapters === false ? 0 : (options.podKillsPerSecond ?? 0.3),
    pods: POD_COUNT,
    maxDeadPods: 2,
    oversizedBytes: CHAOS_TUNING.maxEventBytes * 2,
    hugeBodyBytes: options.hugeBodyBytes ?? 16 * 1024 * 1024,
  });
}

/** The value of `key`, created first when missing. */
function entry<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

/** Polls `condition` every 20 ms until it holds; rejects after `timeoutMs`. */
async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
