/**
 * `endpoint-watch demo`: wires the embedded cluster, the scripted story, the watch, the client's
 * traffic and the view together, and ends (after `--duration`, on Ctrl-C, or on a failure) by
 * stopping everything in order and printing the summary.
 */
import type { BalancerStats } from '@endpoint-watch/balancer';
import {
  createKubeClient,
  type EndpointSet,
  type KubeClient,
  loadKubeConfig,
  type WatchEndpointsOptions,
  type WatchHealth,
  watchEndpoints,
  watchEndpointsHealth,
} from '@endpoint-watch/core';
import { Subscription } from 'rxjs';
import type { DemoOptions } from '../args.js';
import { DEMO_TLS_NAME, DemoCluster } from '../demo/cluster.js';
import { demoStory, runScript } from '../demo/script.js';
import { buildSummary, type DemoSummary } from '../demo/summary.js';
import { TrafficClient } from '../demo/traffic.js';
import { type CliIo, sleep, useColor } from '../io.js';
import { balancerChanges, endpointChanges, healthChange } from '../view/changes.js';
import { buildDemoView } from '../view/demo-view.js';
import { appendLog, type LiveView, type LogEntry, type LogKind } from '../view/model.js';
import { plainLogLine, plainStatusLine, renderSummary } from '../view/plain.js';
import { RateMeter } from '../view/rates.js';
import { renderLive } from '../view/render.js';
import { LiveScreen } from '../view/terminal.js';

const NAMESPACE = 'shop';
const SERVICE = 'web';
const PORT_NAME = 'http';
/** About 4.5 frames per second on a terminal. */
const FRAME_MS = 220;
/** One status line per second without a terminal. */
const PLAIN_PERIOD_MS = 1_000;

export async function demoCommand(options: DemoOptions, io: CliIo): Promise<DemoSummary> {
  const tty = options.tty && io.stdout.isTTY === true;
  const color = tty && useColor(io);
  const durationMs = options.durationS * 1000;
  const startedAt = performance.now();
  const elapsed = () => performance.now() - startedAt;
  const log: LogEntry[] = [];
  const emit = (kind: LogKind, text: string) => {
    const entry = { atMs: elapsed(), kind, text };
    appendLog(log, entry);
    if (!tty) io.stdout.write(`${plainLogLine(entry)}\n`);
  };
  if (!tty) {
    io.stdout.write(
      `endpoint-watch demo: Service ${NAMESPACE}/${SERVICE} on an embedded apiserver, pods on 127.0.0.x, ` +
        `at most ${options.rate} req/s and ${options.concurrency} in flight, ${options.durationS} s (Ctrl-C to stop)\n`,
    );
  }

  const cluster = await DemoCluster.start({ namespace: NAMESPACE, service: SERVICE, portName: PORT_NAME });
  const subscriptions = new Subscription();
  const stopScript = new AbortController();
  const failed = new AbortController();
  let failure: unknown;
  const fail = (error: unknown) => {
    failure ??= error;
    failed.abort();
  };
  let client: KubeClient | undefined;
  let traffic: TrafficClient | undefined;
  let screen: LiveScreen | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let summary: DemoSummary;
  try {
    const { apiserver } = cluster;
    client = createKubeClient(
      loadKubeConfig({
        server: apiserver.url,
        token: apiserver.token,
        ca: apiserver.tls?.ca,
        tlsServerName: DEMO_TLS_NAME,
        env: {},
      }),
      { userAgent: 'endpoint-watch-cli/0.1 (demo)' },
    );
    const watchOptions: WatchEndpointsOptions = {
      namespace: NAMESPACE,
      service: SERVICE,
      port: PORT_NAME,
      watch: { backoff: { initialMs: 100, maxMs: 1_000 } },
    };
    const sets$ = watchEndpoints(client, watchOptions);
    let set: EndpointSet | undefined;
    let health: WatchHealth | undefined;
    subscriptions.add(
      sets$.subscribe({
        next: (next) => {
          for (const line of endpointChanges(set, next)) emit('change', line);
          set = next;
        },
        error: fail,
      }),
    );
    subscriptions.add(
      watchEndpointsHealth(client, watchOptions).subscribe((next) => {
        const line = healthChange(health, next, { namespace: NAMESPACE });
        if (line) emit('health', line);
        health = next;
      }),
    );

    const client$ = new TrafficClient({
      endpoints: sets$,
      url: `http://${SERVICE}.${NAMESPACE}.svc.cluster.local/`,
      rate: options.rate,
      concurrency: options.concurrency,
      strategy: options.strategy,
      name: `${NAMESPACE}/${SERVICE}`,
    });
    traffic = client$;
    let lastStats: BalancerStats | undefined;
    subscriptions.add(
      client$.balancer.stats$.subscribe((stats) => {
        for (const line of balancerChanges(lastStats, stats)) emit('balancer', line);
        lastStats = stats;
      }),
    );

    // The story's clock starts now, with the cluster up, as does the demo's --duration below: counted
    // from the command's start, its first steps would crowd into the time the cluster took to start.
    const script = runScript(demoStory(cluster), {
      durationMs,
      startedAt: performance.now(),
      now: () => performance.now(),
      signal: stopScript.signal,
      onStep: (text) => emit('script', `── ${text}`),
    }).catch(fail);
    client$.start();

    const attemptRates = new RateMeter();
    const requestRates = new RateMeter();
    const view = (): LiveView => {
      const stats = client$.balancer.stats(); // also notices returns from ejection
      for (const line of balancerChanges(lastStats, stats)) emit('balancer', line);
      lastStats = stats;
      const requests = client$.requests.snapshot();
      const now = elapsed();
      attemptRates.record(now, client$.ledger.attemptCounts());
      requestRates.record(now, new Map([['requests', requests.succeeded + requests.failed]]));
      return buildDemoView({
        namespace: NAMESPACE,
        service: SERVICE,
        elapsedMs: Math.min(now, durationMs),
        durationMs,
        wallNow: Date.now(),
        set,
        health,
        stats,
        attempts: (key) => client$.ledger.get(key),
        attemptTotals: client$.ledger.totals(),
        attemptRate: (key) => attemptRates.rate(key),
        requests,
        requestRate: requestRates.rate('requests'),
        // The latest thing that happened to the pod (the summary lists them all).
        note: (address) => cluster.podByAddress(address)?.notes.at(-1),
        events: log,
      });
    };
    const frame = () => {
      const current = view();
      if (screen) screen.draw(renderLive(current, { ...screen.size(), color }));
      else io.stdout.write(`${plainStatusLine(current)}\n`);
    };
    if (tty) {
      screen = new LiveScreen(io.stdout);
      screen.start();
    }
    frame();
    ticker = setInterval(frame, tty ? FRAME_MS : PLAIN_PERIOD_MS);

    await sleep(durationMs, AbortSignal.any([io.signal, failed.signal]));
    const endedBy = io.signal.aborted ? 'interrupt' : 'duration';
    stopScript.abort();
    await script;
    await client$.stop(); // every request has ended and is counted from here on
    clearInterval(ticker);
    if (tty) frame();
    if (failure !== undefined) throw failure;

    const stats = client$.balancer.stats();
    summary = buildSummary({
      service: `${NAMESPACE}/${SERVICE}`,
      elapsedMs: elapsed(),
      endedBy,
      requests: client$.requests.snapshot(),
      endpoints: client$.ledger.entries(),
      attempts: client$.ledger.totals(),
      pods: cluster.pods.map((pod) => ({
        name: pod.name,
        address: pod.address,
        fate: fate(pod.phase, pod.notes),
      })),
      port: cluster.port,
      balancer: {
        picks: stats.totals.picks,
        successes: stats.totals.successes,
        failures: stats.totals.failures,
      },
    });
  } finally {
    clearInterval(ticker);
    screen?.stop();
    stopScript.abort();
    subscriptions.unsubscribe();
    await traffic?.stop();
    await traffic?.close();
    await client?.close();
    await cluster.close();
  }
  const width = tty ? io.stdout.columns : undefined;
  io.stdout.write(
    `\n${renderSummary(summary, { color, ...(width === undefined ? {} : { width }) }).join('\n')}\n`,
  );
  return summary;
}

function fate(phase: string, notes: readonly string[]): string {
  const state = phase === 'ready' || phase === 'starting' ? 'running' : phase;
  const why = notes.filter((note) => note !== 'crashed');
  return why.length > 0 ? `${state} (${why.join(', ')})` : state;
}
