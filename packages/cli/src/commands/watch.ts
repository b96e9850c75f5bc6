/**
 * `endpoint-watch watch <service>`: the endpoints of a Service of a real cluster, live. Three outputs:
 * the live view on a terminal, plain change lines otherwise, one JSON set per line with `--json`.
 * Ends on Ctrl-C; before the first sync it stops on errors only the user can fix (RBAC, TLS name,
 * unreachable apiserver, …) instead of retrying forever.
 */
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
import type { WatchOptions } from '../args.js';
import { needsUserAction } from '../errors.js';
import { aborted, type CliIo, useColor } from '../io.js';
import { endpointChanges, healthChange } from '../view/changes.js';
import { appendLog, type LogEntry, type LogKind } from '../view/model.js';
import { jsonSetLine, plainLogLine } from '../view/plain.js';
import { renderLive } from '../view/render.js';
import { LiveScreen } from '../view/terminal.js';
import { absentServiceHint, buildWatchView, emptinessHint } from '../view/watch-view.js';

const FRAME_MS = 250;

export async function watchCommand(options: WatchOptions, io: CliIo): Promise<void> {
  const config = loadKubeConfig({
    ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
    ...(options.context === undefined ? {} : { context: options.context }),
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    ...(options.tlsServerName === undefined ? {} : { tlsServerName: options.tlsServerName }),
    env: io.env,
    // ~/.kube/config from the environment the command was given, like KUBECONFIG (os.homedir()
    // reads the process's own).
    ...(io.env.HOME ? { homeDir: io.env.HOME } : {}),
    warn: (message) => io.stderr.write(`endpoint-watch: warning: ${message}\n`),
  });
  const namespace = config.namespace;
  const origin = `${config.server}${config.context ? ` (context ${config.context})` : ` (${config.source})`}`;
  const mode = options.json ? 'json' : options.tty && io.stdout.isTTY === true ? 'live' : 'plain';
  const color = mode === 'live' && useColor(io);
  const startedAt = performance.now();
  const elapsed = () => performance.now() - startedAt;
  const log: LogEntry[] = [];
  // With --json stdout carries only sets. What goes wrong or a turn taken (a retry, a cut, a relist,
  // the LIST fallback) is told on stderr, and so is the sync that ends it.
  let toldOnStderr = false;
  const emit = (kind: LogKind, text: string) => {
    const entry = { atMs: elapsed(), kind, text };
    appendLog(log, entry);
    if (mode === 'plain') io.stdout.write(`${plainLogLine(entry)}\n`);
    if (mode !== 'json' || kind !== 'health') return;
    const turn = /^watch (retrying|relisting|resuming|connecting:)/.test(entry.text);
    const notice = /^watch synced( at rv \S+)?: /.test(entry.text);
    if (turn || notice || (toldOnStderr && entry.text.startsWith('watch synced'))) {
      io.stderr.write(`endpoint-watch: ${entry.text}\n`);
      toldOnStderr = turn;
    }
  };
  // Advice: a line of the log in plain mode, stderr with --json (stdout holds only sets).
  const tell = (text: string) => {
    if (mode === 'json')
      io.stderr.write(
        `${text
          .split('\n')
          .map((line) => `endpoint-watch: ${line}`)
          .join('\n')}\n`,
      );
    else if (mode === 'plain') for (const line of text.split('\n')) emit('info', line);
  };
  if (mode === 'plain') {
    io.stdout.write(
      `endpoint-watch watch: ${namespace}/${options.service} from ${origin} (Ctrl-C to stop)\n`,
    );
  }

  const client: KubeClient = createKubeClient(config, { userAgent: 'endpoint-watch-cli/0.1' });
  const subscriptions = new Subscription();
  const failed = new AbortController();
  let failure: unknown;
  const fail = (error: unknown) => {
    failure ??= error;
    failed.abort();
  };
  let screen: LiveScreen | undefined;
  let ticker: NodeJS.Timeout | undefined;
  try {
    const watchOptions: WatchEndpointsOptions = {
      service: options.service,
      namespace,
      source: options.source,
      scope: options.scope,
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.addressTypes === undefined ? {} : { addressTypes: options.addressTypes }),
    };
    let set: EndpointSet | undefined;
    let health: WatchHealth | undefined;
    let synced = false;
    /** The selector hint of a set with no endpoint at all, until the health says whether the Service exists. */
    let heldHint: string | undefined;
    const target = { namespace, service: options.service, addressTypes: options.addressTypes };
    subscriptions.add(
      watchEndpoints(client, watchOptions).subscribe({
        next: (next) => {
          if (mode === 'json') io.stdout.write(`${jsonSetLine(next)}\n`);
          for (const line of endpointChanges(set, next)) emit('change', line);
          // Why traffic has nowhere to go, once each time it comes to that (the live view keeps it shown).
          const hint = emptinessHint(next, target);
          if (hint === undefined) heldHint = undefined;
          else if (hint !== emptinessHint(set, target)) {
            // No endpoint at all: whether the Service exists is the synced health's notice to say,
            // and asking about its selector before that would send a newcomer the wrong way.
            if (next.all.length > 0 || target.addressTypes !== undefined) tell(hint);
            else if (health?.state !== 'synced') heldHint = hint;
            else tell(health.notice === undefined ? hint : absentServiceHint(target));
          }
          set = next;
        },
        error: fail,
      }),
    );
    subscriptions.add(
      watchEndpointsHealth(client, watchOptions).subscribe((next) => {
        if (next.state === 'synced') synced = true;
        if (next.state === 'retrying' && !synced && needsUserAction(next.error)) return fail(next.error);
        const line = healthChange(health, next, { namespace });
        if (line) emit('health', line);
        health = next;
        if (next.state === 'synced' && heldHint !== undefined) {
          tell(next.notice === undefined ? heldHint : absentServiceHint(target));
          heldHint = undefined;
        }
      }),
    );

    if (mode === 'live') {
      const live = new LiveScreen(io.stdout);
      screen = live;
      const frame = () => {
        const view = buildWatchView({
          namespace,
          service: options.service,
          origin,
          elapsedMs: elapsed(),
          wallNow: Date.now(),
          set,
          health,
          events: log,
          addressTypes: options.addressTypes,
        });
        live.draw(renderLive(view, { ...live.size(), color }));
      };
      live.start();
      frame();
      ticker = setInterval(frame, FRAME_MS);
    }

    await aborted(AbortSignal.any([io.signal, failed.signal]));
  } finally {
    clearInterval(ticker);
    screen?.stop();
    subscriptions.unsubscribe();
    await client.close();
  }
  if (failure !== undefined) throw failure;
}
