import type { BalancerStats, EndpointStats } from '@endpoint-watch/balancer';
import { type Endpoint, type EndpointSet, KubeApiError, type WatchHealth } from '@endpoint-watch/core';
import { describe, expect, it } from 'vitest';
import { AttemptLedger } from '../src/demo/ledger.js';
import { balancerChanges, endpointChanges, healthChange, MAX_CHANGE_LINES } from '../src/view/changes.js';
import { buildDemoView } from '../src/view/demo-view.js';
import { describeHealth, type LiveView, type LogEntry } from '../src/view/model.js';
import { jsonSetLine, plainStatusLine } from '../src/view/plain.js';
import { RateMeter } from '../src/view/rates.js';
import { renderLive } from '../src/view/render.js';
import { stripAnsi, truncate, visibleLength } from '../src/view/table.js';
import { LiveScreen } from '../src/view/terminal.js';
import { buildWatchView } from '../src/view/watch-view.js';

const endpoint = (host: number, state: Partial<Endpoint> = {}): Endpoint => ({
  address: `127.0.0.${host}`,
  port: 8080,
  addressType: 'IPv4',
  ready: true,
  serving: true,
  terminating: false,
  zone: `zone-${'abc'[host % 3]}`,
  nodeName: `node-${host}`,
  targetRef: { kind: 'Pod', namespace: 'shop', name: `web-${host}` },
  ...state,
});

const set = (all: Endpoint[], resourceVersion = '7'): EndpointSet => {
  const ready = all.filter((e) => e.ready);
  return {
    namespace: 'shop',
    service: 'web',
    port: { name: 'http', protocol: 'TCP' },
    endpoints: ready.length > 0 ? ready : all.filter((e) => e.serving && e.terminating),
    all,
    resourceVersion,
    source: 'endpointslices',
  };
};

const terminating = { ready: false, serving: true, terminating: true };
const synced: WatchHealth = { state: 'synced', resourceVersion: '7', since: 1_000 };
const forbidden = new KubeApiError({
  method: 'GET',
  path: '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices',
  status: {
    code: 403,
    reason: 'Forbidden',
    message:
      'endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:shop:reader" cannot watch resource "endpointslices" in API group "discovery.k8s.io" in the namespace "shop"',
  },
});

function events(count: number): LogEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    atMs: i * 100,
    kind: 'change' as const,
    text: `event ${i}`,
  }));
}

function watchView(overrides: Partial<Parameters<typeof buildWatchView>[0]> = {}): LiveView {
  return buildWatchView({
    namespace: 'shop',
    service: 'web',
    origin: 'https://127.0.0.1:6443 (context fake)',
    elapsedMs: 65_000,
    wallNow: 3_000,
    set: set([endpoint(2), endpoint(3, terminating), endpoint(4, { ready: false, serving: false })]),
    health: synced,
    events: events(3),
    ...overrides,
  });
}

describe('renderLive (watch)', () => {
  it('says in the watch line when --address-type filters the families', () => {
    const lines = renderLive(watchView({ addressTypes: ['IPv6'] }), { width: 140, height: 40, color: false });
    expect(lines[1]).toMatch(/^watch {3}synced · rv 7 · for 2\.0 s · endpointslices · IPv6 only · /);
    expect(renderLive(watchView(), { width: 140, height: 40, color: false })[1]).not.toContain('only');
  });

  it('shows each endpoint with pod, node, zone and conditions, the health and the events', () => {
    const lines = renderLive(watchView(), { width: 140, height: 40, color: false });
    const text = lines.join('\n');
    expect(lines[0]).toBe('endpoint-watch watch · shop/web port http · 1:05 · Ctrl-C to stop');
    expect(lines[1]).toBe(
      'watch   synced · rv 7 · for 2.0 s · endpointslices · 1 ready, 1 terminating, 1 not ready',
    );
    expect(text).toContain('from    https://127.0.0.1:6443 (context fake)');
    const row = (host: number) => lines.find((line) => line.includes(`127.0.0.${host}:8080`)) ?? '';
    expect(
      row(2)
        .split(/\s{2,}/)
        .map((cell) => cell.trim()),
    ).toEqual(['● 127.0.0.2:8080', 'web-2', 'node-2', 'zone-c', 'ready', 'yes', 'yes', 'no']);
    // Terminating but serving: not where traffic goes (○), READY no, SERVING yes, TERMINATING yes.
    expect(row(3)).toMatch(
      /○ 127\.0\.0\.3:8080\s+web-3\s+node-3\s+zone-a\s+terminating, serving\s+no\s+yes\s+yes/,
    );
    expect(row(4)).toMatch(/○ 127\.0\.0\.4:8080 .* not ready\s+no\s+no\s+no/);
    expect(lines.slice(-4)).toEqual([
      'events',
      '   +0.0s  event 0',
      '   +0.1s  event 1',
      '   +0.2s  event 2',
    ]);
  });

  it('orders endpoints by address numerically', () => {
    const view = watchView({ set: set([endpoint(10), endpoint(9), endpoint(100)]) });
    const order = renderLive(view, { width: 140, height: 40, color: false })
      .map((line) => /127\.0\.0\.(\d+):8080/.exec(line)?.[1])
      .filter(Boolean);
    expect(order).toEqual(['9', '10', '100']);
  });

  it('fits the terminal: no line wider than width - 1, no more lines than height, newest events kept', () => {
    const many = set(Array.from({ length: 30 }, (_, i) => endpoint(i + 2)));
    const lines = renderLive(watchView({ set: many, events: events(50) }), {
      width: 60,
      height: 20,
      color: true,
    });
    expect(lines.length).toBeLessThanOrEqual(20);
    for (const line of lines) expect(visibleLength(line)).toBeLessThanOrEqual(59);
    const plain = lines.map(stripAnsi);
    expect(plain.some((line) => /… \d+ more endpoints/.test(line))).toBe(true);
    expect(plain.at(-1)).toContain('event 49');
    expect(plain.filter((line) => line.includes('event ')).length).toBeGreaterThanOrEqual(3);
  });

  it('narrow: the conditions STATE sums up go first, then zone, then node; pod and state stay', () => {
    const header = (width: number) => {
      const lines = renderLive(watchView(), { width, height: 40, color: false });
      for (const line of lines) expect(visibleLength(line)).toBeLessThanOrEqual(width - 1);
      return lines
        .find((line) => line.includes('ENDPOINT'))
        ?.trim()
        .split(/\s{2,}/);
    };
    expect(header(160)).toEqual([
      'ENDPOINT',
      'POD',
      'NODE',
      'ZONE',
      'STATE',
      'READY',
      'SERVING',
      'TERMINATING',
    ]);
    expect(header(80)).toEqual(['ENDPOINT', 'POD', 'NODE', 'ZONE', 'STATE']);
    expect(header(60)).toEqual(['ENDPOINT', 'POD', 'NODE', 'STATE']);
    expect(header(50)).toEqual(['ENDPOINT', 'POD', 'STATE']);
    const narrow = renderLive(watchView(), { width: 50, height: 40, color: false });
    expect(narrow.join('\n')).toContain('○ 127.0.0.3:8080  web-3  terminating, serving');
  });

  it('advice under the table is wrapped at 80 columns, not cut', () => {
    const lines = renderLive(watchView({ set: set([]) }), { width: 80, height: 40, color: false });
    for (const line of lines) expect(visibleLength(line)).toBeLessThanOrEqual(79);
    const start = lines.findIndex((line) => line.startsWith(' no endpoints:'));
    expect(start).toBeGreaterThan(0);
    const advice = lines.slice(start, lines.indexOf('', start)).map((line) => line.trim());
    expect(advice.join(' ')).toBe(
      'no endpoints: does the selector of Service shop/web match running pods? ' +
        'See: kubectl get service web -n shop -o wide (SELECTOR, PORTS); kubectl get endpointslices -n shop -l kubernetes.io/service-name=web (ENDPOINTS)',
    );
    expect(lines.join('\n')).not.toContain('…');
  });

  it("a synced watch's notice (no slice for the Service at all) shows under the health line, wrapped", () => {
    const notice =
      'no EndpointSlice in namespace shop carries kubernetes.io/service-name=web: the Service does not exist (check the name and namespace)';
    const lines = renderLive(watchView({ set: set([]), health: { ...synced, notice } }), {
      width: 80,
      height: 40,
      color: false,
    });
    for (const line of lines) expect(visibleLength(line)).toBeLessThanOrEqual(79);
    expect(lines[1]).toBe('watch   synced · rv 7 · for 2.0 s · endpointslices · no endpoints');
    const told = lines.slice(
      2,
      lines.findIndex((line) => line.startsWith('from ')),
    );
    expect(told[0]?.startsWith('        ↳ no EndpointSlice')).toBe(true);
    expect(told.slice(1).every((line) => line.startsWith('          '))).toBe(true);
    expect(told.map((line) => line.trim()).join(' ')).toBe(`↳ ${notice}`);
  });

  it('colors only when asked', () => {
    const colored = renderLive(watchView(), { width: 140, height: 40, color: true }).join('\n');
    const plain = renderLive(watchView(), { width: 140, height: 40, color: false }).join('\n');
    expect(colored).toContain('\u001b[32m'); // ready in green
    expect(plain).not.toContain('\u001b');
    expect(stripAnsi(colored)).toBe(plain);
  });

  it('a 403 in the health stream names the grant to make; an empty set gets a hint', () => {
    const health: WatchHealth = {
      state: 'retrying',
      error: forbidden,
      attempt: 2,
      retryInMs: 1_600,
      staleSince: 1_000,
      resourceVersion: undefined,
    };
    const lines = renderLive(watchView({ set: set([]), health }), { width: 200, height: 40, color: false });
    expect(lines[1]).toBe(
      'watch   retrying (attempt 2, next in 1.6 s, stale for 2.0 s) · endpointslices · no endpoints',
    );
    expect(lines[2]).toBe(
      '        ↳ 403 Forbidden: grant list, watch on endpointslices.discovery.k8s.io in namespace shop',
    );
    expect(lines).toContain(' no endpoints: does the selector of Service shop/web match running pods?');
    expect(lines).toContain(
      ' See: kubectl get service web -n shop -o wide (SELECTOR, PORTS); kubectl get endpointslices -n shop -l kubernetes.io/service-name=web (ENDPOINTS)',
    );
  });
});

describe('renderLive (demo) and the plain status line', () => {
  /** Shop/web, 12 s into a 30 s demo. */
  const AT_12_S = {
    namespace: 'shop',
    service: 'web',
    elapsedMs: 12_000,
    durationMs: 30_000,
    wallNow: 3_000,
  };
  const ledgerCounts = (ledger: AttemptLedger) => ({
    attempts: (key: string) => ledger.get(key),
    attemptTotals: ledger.totals(),
  });
  /** Every column of the demo's table, on a wide terminal. */
  const TRAFFIC_HEADERS = [
    'ENDPOINT',
    'POD',
    'ZONE',
    'STATE',
    'IN-FLIGHT',
    'REQ/S',
    'ATTEMPTS',
    'FAILED',
    'LATENCY',
    'EJECTED',
    'NOTE',
  ];
  const stats = (endpoints: Partial<EndpointStats>[]): BalancerStats => ({
    namespace: 'shop',
    service: 'web',
    strategy: 'least-request',
    at: 10_000,
    closed: false,
    panic: false,
    zoneRouting: 'off',
    endpoints: endpoints.map((e) => ({
      key: '',
      address: '',
      port: 8080,
      zone: undefined,
      inFlight: 0,
      picks: 0,
      successes: 0,
      failures: 0,
      consecutiveFailures: 0,
      ejected: false,
      ejectedUntil: undefined,
      ejectionCount: 0,
      ewmaLatencyMs: 2,
      weight: 1,
      candidate: true,
      addedAt: 0,
      ...e,
    })),
    totals: {
      endpoints: 2,
      healthy: 1,
      ejected: 1,
      candidates: 1,
      inFlight: 0,
      picks: 0,
      successes: 0,
      failures: 0,
    },
  });

  function demoView(): LiveView {
    const ledger = new AttemptLedger();
    for (let i = 0; i < 40; i++) {
      ledger.picked('127.0.0.2:8080');
      ledger.released('127.0.0.2:8080', { ok: true });
    }
    for (let i = 0; i < 6; i++) {
      ledger.picked('127.0.0.3:8080');
      ledger.released('127.0.0.3:8080', { ok: false, failure: 'connect' });
    }
    ledger.picked('127.0.0.2:8080'); // in flight
    return buildDemoView({
      ...AT_12_S,
      set: set([endpoint(2), endpoint(3)]),
      health: synced,
      stats: stats([
        { key: '127.0.0.2:8080', ewmaLatencyMs: 152.4 },
        { key: '127.0.0.3:8080', ejected: true, ejectedUntil: 38_000 },
      ]),
      ...ledgerCounts(ledger),
      attemptRate: (key) => (key === '127.0.0.2:8080' ? 33.3 : 0),
      requests: { sent: 41, succeeded: 40, failed: 0, inFlight: 1, errors: {} },
      requestRate: 148,
      note: (address) => (address === '127.0.0.3' ? 'crashed' : undefined),
      events: [{ atMs: 11_500, kind: 'script', text: '── web-3 crashes' }],
    });
  }

  it('shows in-flight, rate, attempts, failures, latency and ejection per endpoint, and the totals', () => {
    const lines = renderLive(demoView(), { width: 160, height: 30, color: false });
    expect(lines[0]).toBe('endpoint-watch demo · shop/web port http · 0:12 / 0:30 · Ctrl-C to stop');
    expect(lines[2]).toBe(
      'traffic 148 req/s · sent 41 = ok 40 + failed 0 + in flight 1 · attempts 47 (6 failed, retried) · least-request',
    );
    const header = lines.find((line) => line.includes('ENDPOINT')) ?? '';
    expect(header.trim().split(/\s{2,}/)).toEqual(TRAFFIC_HEADERS);
    const cells = (host: number) =>
      (lines.find((line) => line.includes(`127.0.0.${host}:8080`)) ?? '')
        .split(/\s{2,}/)
        .map((cell) => cell.trim());
    expect(cells(2)).toEqual([
      '● 127.0.0.2:8080',
      'web-2',
      'zone-c',
      'ready',
      '1',
      '33',
      '41',
      '0',
      '152 ms',
      '-',
    ]);
    // Ejected: in the slice, but the balancer sends it nothing: not marked as where traffic goes.
    expect(cells(3)).toEqual([
      '○ 127.0.0.3:8080',
      'web-3',
      'zone-a',
      'ready',
      '0',
      '0',
      '6',
      '6',
      '2.0 ms',
      'yes (28 s)',
      'crashed',
    ]);
    expect(lines.at(-1)).toBe('  +11.5s  ── web-3 crashes');
  });

  /** The demo's story in one frame: a slow pod, a crashed one ejected, old pods draining. */
  function storyView(): LiveView {
    const pods = [2, 3, 4, 5, 10, 11];
    const ledger = new AttemptLedger();
    for (const host of pods) {
      for (let i = 0; i < 40 * host; i++) {
        ledger.picked(`127.0.0.${host}:41227`);
        ledger.released(
          `127.0.0.${host}:41227`,
          host === 4 && i < 5 ? { ok: false, failure: 'connect' } : { ok: true },
        );
      }
    }
    const pod = (host: number, state: Partial<Endpoint> = {}) =>
      endpoint(host, {
        port: 41227,
        targetRef: { kind: 'Pod', namespace: 'shop', name: `web-62zmn2f2-gb${host}w8` },
        ...state,
      });
    const notes: Record<string, string> = {
      '127.0.0.3': 'slow +150 ms',
      '127.0.0.4': 'crashed',
      '127.0.0.10': 'replaced by v2',
      '127.0.0.11': 'replaced by v2',
    };
    return buildDemoView({
      ...AT_12_S,
      set: set([pod(2), pod(3), pod(4), pod(5), pod(10, terminating), pod(11, terminating)], '1015'),
      health: { state: 'synced', resourceVersion: '1004', since: 1_000 },
      stats: stats([
        { key: '127.0.0.2:41227', ewmaLatencyMs: 1.2 },
        { key: '127.0.0.3:41227', ewmaLatencyMs: 152.4 },
        { key: '127.0.0.4:41227', ejected: true, ejectedUntil: 38_000 },
      ]),
      ...ledgerCounts(ledger),
      attemptRate: (key) => (key === '127.0.0.3:41227' ? 6.5 : 46),
      requests: { sent: 1774, succeeded: 1774, failed: 0, inFlight: 0, errors: {} },
      requestRate: 149,
      note: (address) => notes[address],
      events: [{ atMs: 11_500, kind: 'script', text: '── web-62zmn2f2-gb4w8 crashes' }],
    });
  }

  const headerOf = (lines: string[]) =>
    (lines.find((line) => line.includes('ENDPOINT') || line.includes('ADDRESS')) ?? '')
      .trim()
      .split(/\s{2,}/);
  const rowOf = (lines: string[], host: number) =>
    (lines.find((line) => new RegExp(`127\\.0\\.0\\.${host}\\b`).test(line)) ?? '')
      .split(/\s{2,}/)
      .map((c) => c.trim());

  it('160 columns: every column, nothing cut', () => {
    const lines = renderLive(storyView(), { width: 160, height: 40, color: false });
    expect(headerOf(lines)).toEqual(TRAFFIC_HEADERS);
    expect(rowOf(lines, 4)).toEqual([
      '○ 127.0.0.4:41227',
      'web-62zmn2f2-gb4w8',
      'zone-b',
      'ready',
      '0',
      '46',
      '160',
      '5',
      '2.0 ms',
      'yes (28 s)',
      'crashed',
    ]);
    expect(lines[1]).toBe('watch   synced · rv 1015 · for 2.0 s · endpointslices · 4 ready, 2 terminating');
    expect(lines[2]).toBe(
      'traffic 149 req/s · sent 1774 = ok 1774 + failed 0 + in flight 0 · attempts 1400 (5 failed, retried) · least-request',
    );
    for (const line of lines) expect(line).not.toContain('…');
  });

  it('80 columns: the columns that tell the story stay whole; the others go in a set order', () => {
    const lines = renderLive(storyView(), { width: 80, height: 40, color: false });
    for (const line of lines) expect(visibleLength(line)).toBeLessThanOrEqual(79);
    // Zone, in-flight, attempts and the pod go; the port (the same for all) leaves the address.
    expect(headerOf(lines)).toEqual(['ADDRESS', 'STATE', 'REQ/S', 'FAILED', 'LATENCY', 'EJECTED', 'NOTE']);
    expect(rowOf(lines, 3)).toEqual(['● 127.0.0.3', 'ready', '6.5', '0', '152 ms', '-', 'slow +150 ms']);
    expect(rowOf(lines, 4)).toEqual(['○ 127.0.0.4', 'ready', '46', '5', '2.0 ms', 'yes 28s', 'crashed']);
    expect(rowOf(lines, 10)).toEqual([
      '○ 127.0.0.10',
      'term., serving',
      '46',
      '0',
      '-',
      '-',
      'replaced by v2',
    ]);
    // The traffic line wraps between its facts instead of losing its end.
    expect(lines.slice(2, 4)).toEqual([
      'traffic 149 req/s · sent 1774 = ok 1774 + failed 0 + in flight 0',
      '        attempts 1400 (5 failed, retried) · least-request',
    ]);
    expect(lines.join('\n')).not.toContain('…');
  });

  it('narrower still: REQ/S, then LATENCY go; the story columns never do', () => {
    const at = (width: number) => headerOf(renderLive(storyView(), { width, height: 40, color: false }));
    expect(at(72)).toEqual(['ADDRESS', 'STATE', 'FAILED', 'LATENCY', 'EJECTED', 'NOTE']);
    expect(at(64)).toEqual(['ADDRESS', 'STATE', 'FAILED', 'EJECTED', 'NOTE']);
  });

  it('colored cells keep their padding outside the colors: same text, no trailing blanks', () => {
    const colored = renderLive(demoView(), { width: 160, height: 30, color: true });
    const plain = renderLive(demoView(), { width: 160, height: 30, color: false });
    expect(colored.map(stripAnsi)).toEqual(plain);
    for (const line of plain) expect(line).toBe(line.trimEnd());
  });

  it('plain status line: one line with the counts', () => {
    expect(plainStatusLine(demoView())).toBe(
      '[+12.0s] 2 endpoints: 2 ready · watch synced · rv 7 · for 2.0 s · 148 req/s · sent 41 = ok 40 + failed 0 + in flight 1 · attempts 47 (6 failed) · ejected 127.0.0.3:8080',
    );
  });
});

describe('changes', () => {
  it('lists joins, departures and condition changes of endpoint sets', () => {
    const before = set([endpoint(2), endpoint(3), endpoint(4)]);
    const after = set([endpoint(2), endpoint(3, terminating), endpoint(5, { ready: false })]);
    expect(endpointChanges(undefined, before)).toEqual([
      'first set: 3 ready (rv 7, endpointslices)',
      '+ 127.0.0.2:8080 (web-2): ready',
      '+ 127.0.0.3:8080 (web-3): ready',
      '+ 127.0.0.4:8080 (web-4): ready',
    ]);
    expect(endpointChanges(before, after)).toEqual([
      '~ 127.0.0.3:8080 (web-3): ready → terminating, serving',
      '- 127.0.0.4:8080 (web-4): removed',
      '+ 127.0.0.5:8080 (web-5): not ready',
    ]);
    expect(endpointChanges(after, after)).toEqual([]);
    const big = endpointChanges(set([]), set(Array.from({ length: 20 }, (_, i) => endpoint(i + 2))));
    expect(big).toHaveLength(MAX_CHANGE_LINES);
    expect(big.at(-1)).toBe('… and 13 more changes (20 ready)');
  });

  it("tells a synced watch's notice when it comes, not while it lasts nor at a routine renewal", () => {
    const absent = {
      ...synced,
      notice: 'no EndpointSlice in namespace shop carries kubernetes.io/service-name=web',
    };
    const connecting: WatchHealth = { state: 'connecting', since: 0 };
    expect(healthChange(connecting, absent)).toBe(
      'watch synced at rv 7: no EndpointSlice in namespace shop carries kubernetes.io/service-name=web',
    );
    expect(healthChange(absent, { ...absent, since: 2_000 })).toBeUndefined();
    const renewal: WatchHealth = { state: 'resuming', resourceVersion: '7', staleSince: 3_000 };
    expect(healthChange(renewal, absent)).toBeUndefined();
    // A slice appeared (the notice went), then went again.
    expect(healthChange(absent, synced)).toBeUndefined();
    expect(healthChange(synced, absent)).toBe(
      'watch synced: no EndpointSlice in namespace shop carries kubernetes.io/service-name=web',
    );
  });

  it('reports health transitions once, and a new error again', () => {
    const retrying = (error: unknown, attempt: number): WatchHealth => ({
      state: 'retrying',
      error,
      attempt,
      retryInMs: 800,
      staleSince: 0,
      resourceVersion: '7',
    });
    expect(healthChange(undefined, { state: 'connecting', since: 0 })).toBe('watch connecting');
    expect(healthChange({ state: 'connecting', since: 0 }, synced)).toBe('watch synced at rv 7');
    expect(healthChange(synced, { ...synced, since: 5 })).toBeUndefined();
    expect(healthChange(synced, retrying(forbidden, 1))).toBe(
      'watch retrying (attempt 1, next in 0.8 s): 403 Forbidden: grant list, watch on endpointslices.discovery.k8s.io in namespace shop',
    );
    expect(healthChange(retrying(forbidden, 1), retrying(forbidden, 2))).toBeUndefined();
    expect(healthChange(retrying(forbidden, 2), retrying(new Error('boom'), 3))).toBe(
      'watch retrying (attempt 3, next in 0.8 s): boom',
    );
  });

  it('tells a cut and a streaming-list fallback calmly, and leaves routine watch renewals out', () => {
    const ended: WatchHealth = { state: 'resuming', resourceVersion: '7', staleSince: 0 };
    const cut: WatchHealth = { ...ended, error: new Error('the watch stream broke: other side closed') };
    // The server ends every watch after a few minutes: no line for that, nor for the synced after it.
    expect(healthChange(synced, ended)).toBeUndefined();
    expect(healthChange(ended, { ...synced, since: 9 })).toBeUndefined();
    expect(healthChange(synced, cut)).toBe(
      'watch resuming from rv 7: the watch stream broke: other side closed',
    );
    expect(healthChange(cut, { ...synced, since: 9 })).toBe('watch synced at rv 7');
    const notice =
      'the apiserver does not serve streaming lists (422 Invalid); reading the state with LIST instead';
    expect(healthChange({ state: 'connecting', since: 0 }, { state: 'connecting', since: 1, notice })).toBe(
      `watch connecting: ${notice}`,
    );
    expect(describeHealth(cut, 1500)).toEqual({
      state: 'resuming',
      text: 'resuming from rv 7 (stale for 1.5 s)',
      error: 'the watch stream broke: other side closed',
      problem: false,
    });
    // Synced shows the rv of the latest set, not the one of the moment the watch was confirmed.
    expect(describeHealth({ ...synced, since: 0 }, 1000, {}, '1018').text).toBe(
      'synced · rv 1018 · for 1.0 s',
    );
    expect(describeHealth({ state: 'connecting', since: 0, notice }, 2000).text).toBe(
      `connecting (2.0 s) · ${notice}`,
    );
  });

  it('tells the relist after an expired resourceVersion (a 410 relisted at once) calmly, not as a failed retry', () => {
    const expired = (message: string) =>
      new KubeApiError({
        method: 'GET',
        path: '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices',
        inStream: true,
        status: { code: 410, reason: 'Expired', message },
      });
    const cut: WatchHealth = {
      state: 'resuming',
      resourceVersion: '7',
      staleSince: 1_000,
      error: new Error('the watch stream broke: other side closed'),
    };
    // What the engine says when a resourceVersion ages out (etcd compaction): relist now, no backoff.
    const relisting: WatchHealth = {
      state: 'retrying',
      error: expired('too old resource version: 7 (9)'),
      attempt: 1,
      retryInMs: 0,
      staleSince: 1_000,
      resourceVersion: '7',
    };
    expect(healthChange(cut, relisting)).toBe('watch relisting: rv 7 has expired (410 Expired)');
    expect(healthChange(synced, relisting)).toBe('watch relisting: rv 7 has expired (410 Expired)');
    expect(healthChange(relisting, { ...synced, resourceVersion: '9' })).toBe('watch synced at rv 9');
    expect(describeHealth(relisting, 1_500)).toEqual({
      state: 'retrying',
      text: 'relisting (rv 7 has expired, stale for 0.5 s)',
      error: undefined,
      problem: false,
    });
    // 410s that keep coming back off: that is a failing retry, and told as one.
    const again: WatchHealth = { ...relisting, attempt: 2, retryInMs: 1_600 };
    expect(healthChange(relisting, again)).toBe(
      'watch retrying (attempt 2, next in 1.6 s): 410 Expired: too old resource version: 7 (9)',
    );
    expect(describeHealth(again, 1_500).problem).toBe(true);
  });

  it('paints the cause of a cut in yellow, like its health line; red is for retries', () => {
    const cut: WatchHealth = {
      state: 'resuming',
      resourceVersion: '7',
      staleSince: 1_000,
      error: new Error('the watch stream broke: other side closed'),
    };
    const cause = (health: WatchHealth) =>
      renderLive(watchView({ health }), { width: 200, height: 40, color: true }).find((line) =>
        line.includes('↳'),
      ) ?? '';
    expect(cause(cut)).toContain('\u001b[33m');
    expect(cause(cut)).not.toContain('\u001b[31m');
    const failing: WatchHealth = {
      state: 'retrying',
      error: forbidden,
      attempt: 2,
      retryInMs: 1_600,
      staleSince: 1_000,
      resourceVersion: '7',
    };
    expect(cause(failing)).toContain('\u001b[31m');
  });

  it('reports ejections and returns from the balancer stats', () => {
    const base: EndpointStats = {
      key: '127.0.0.3:8080',
      address: '127.0.0.3',
      port: 8080,
      zone: undefined,
      inFlight: 0,
      picks: 5,
      successes: 0,
      failures: 5,
      consecutiveFailures: 0,
      ejected: false,
      ejectedUntil: undefined,
      ejectionCount: 0,
      ewmaLatencyMs: 1,
      weight: 1,
      candidate: true,
      addedAt: 0,
    };
    const stats = (endpoint: EndpointStats, panic = false) =>
      ({ at: 1_000, panic, endpoints: [endpoint] }) as unknown as BalancerStats;
    const ejected = { ...base, ejected: true, ejectedUntil: 31_000 };
    expect(balancerChanges(stats(base), stats(ejected))).toEqual([
      '127.0.0.3:8080 ejected by outlier detection (consecutive failures) for 30 s',
    ]);
    expect(balancerChanges(stats(ejected), stats(ejected))).toEqual([]);
    expect(balancerChanges(stats(ejected), stats(base, true))).toEqual([
      '127.0.0.3:8080 back from ejection',
      'panic: too few healthy endpoints, balancing over all of them',
    ]);
  });
});

describe('helpers', () => {
  it('RateMeter: per-second increase over the window', () => {
    const meter = new RateMeter(1_000);
    meter.record(0, new Map([['a', 0]]));
    expect(meter.rate('a')).toBe(0);
    meter.record(500, new Map([['a', 50]]));
    meter.record(
      1_000,
      new Map([
        ['a', 100],
        ['b', 30],
      ]),
    );
    expect(meter.rate('a')).toBe(100);
    expect(meter.rate('b')).toBe(30); // absent before: counted from 0
    meter.record(
      2_000,
      new Map([
        ['a', 100],
        ['b', 30],
      ]),
    );
    expect(meter.rate('a')).toBe(0); // nothing new in the last second
  });

  it('truncate keeps escape sequences and marks the cut', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
    const cut = truncate('\u001b[32mabcdef\u001b[39m', 4);
    expect(stripAnsi(cut)).toBe('abc…');
    expect(cut.startsWith('\u001b[32m')).toBe(true);
    expect(cut.endsWith('\u001b[0m')).toBe(true);
  });

  it('describeHealth before any health', () => {
    expect(describeHealth(undefined, 0)).toEqual({
      state: 'starting',
      text: 'starting',
      error: undefined,
      problem: false,
    });
  });

  it('jsonSetLine: one line in the EndpointSet shape', () => {
    const line = jsonSetLine(set([endpoint(2), endpoint(3, terminating)]));
    expect(line).not.toContain('\n');
    const parsed = JSON.parse(line);
    expect(parsed).toMatchObject({
      namespace: 'shop',
      service: 'web',
      port: { name: 'http', protocol: 'TCP' },
      resourceVersion: '7',
      source: 'endpointslices',
    });
    expect(parsed.endpoints.map((e: Endpoint) => e.address)).toEqual(['127.0.0.2']);
    expect(parsed.all.map((e: Endpoint) => [e.address, e.terminating])).toEqual([
      ['127.0.0.2', false],
      ['127.0.0.3', true],
    ]);
  });
});

describe('LiveScreen', () => {
  it('redraws in place: cursor up over the previous frame, clear to end of line and below; clears after a resize', () => {
    const out = {
      text: '',
      isTTY: true,
      columns: 80,
      rows: 24,
      write(chunk: string) {
        out.text += chunk;
      },
    };
    const screen = new LiveScreen(out);
    screen.start();
    screen.draw(['a', 'b']);
    screen.draw(['c']);
    const ESC = '\u001b[';
    expect(out.text).toBe(`${ESC}?25l\ra${ESC}K\nb${ESC}K\n${ESC}J\r${ESC}2Ac${ESC}K\n${ESC}J`);
    out.text = '';
    out.columns = 100;
    screen.draw(['d']);
    expect(out.text).toBe(`${ESC}2J${ESC}H\rd${ESC}K\n${ESC}J`);
    out.text = '';
    screen.stop();
    expect(out.text).toBe(`${ESC}?25h`);
    expect(screen.size()).toEqual({ width: 100, height: 23 });
  });
});
