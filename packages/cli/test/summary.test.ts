import { KubeApiError, KubeConfigError, KubeTransportError } from '@endpoint-watch/core';
import { describe, expect, it } from 'vitest';
import { AttemptLedger, RequestTally } from '../src/demo/ledger.js';
import { buildSummary, type SummaryInput } from '../src/demo/summary.js';
import { explainError, needsUserAction } from '../src/errors.js';
import { renderSummary } from '../src/view/plain.js';

function input(
  ledger: AttemptLedger,
  requests: RequestTally,
  overrides: Partial<SummaryInput> = {},
): SummaryInput {
  const attempts = ledger.totals();
  return {
    service: 'shop/web',
    elapsedMs: 5_000,
    endedBy: 'duration',
    requests: requests.snapshot(),
    endpoints: ledger.entries(),
    attempts,
    pods: [
      { name: 'web-a', address: '127.0.0.2', fate: 'running' },
      { name: 'web-b', address: '127.0.0.3', fate: 'crashed' },
      { name: 'web-c', address: '127.0.0.4', fate: 'gone (never ready)' },
    ],
    port: 8080,
    balancer: { picks: attempts.attempts, successes: attempts.ok, failures: attempts.failed },
    ...overrides,
  };
}

/** Three requests: two straight successes on a, one that failed on b (connect) and was retried on a. */
function scenario() {
  const ledger = new AttemptLedger();
  const requests = new RequestTally();
  for (let i = 0; i < 3; i++) requests.start();
  ledger.picked('127.0.0.2:8080');
  ledger.released('127.0.0.2:8080', { ok: true });
  ledger.picked('127.0.0.2:8080');
  ledger.released('127.0.0.2:8080', { ok: true });
  ledger.picked('127.0.0.3:8080');
  ledger.released('127.0.0.3:8080', { ok: false, failure: 'connect' });
  ledger.picked('127.0.0.2:8080');
  ledger.released('127.0.0.2:8080', { ok: true });
  for (let i = 0; i < 3; i++) requests.succeed();
  return { ledger, requests };
}

describe('demo summary', () => {
  it('one row per pod (also those never picked); every check passes when the counts add up', () => {
    const { ledger, requests } = scenario();
    const summary = buildSummary(input(ledger, requests));
    expect(summary.rows.map((r) => [r.pod, r.endpoint, r.attempts, r.ok, r.failed])).toEqual([
      ['web-a', '127.0.0.2:8080', 3, 3, 0],
      ['web-b', '127.0.0.3:8080', 1, 0, 1],
      ['web-c', '127.0.0.4:8080', 0, 0, 0],
    ]);
    expect(summary.checks.map((c) => c.ok)).toEqual([true, true, true, true]);

    const text = renderSummary(summary, { color: false });
    expect(text[0]).toBe('Summary · Service shop/web · 5.0 s, ended after --duration');
    expect(text).toContain('  requests  sent 3 = succeeded 3 + failed 0');
    expect(text).toContain('  attempts  4 = ok 3 + failed 1 (one per try; retries are extra attempts)');
    expect(text.find((line) => line.startsWith('  web-b'))).toMatch(
      /web-b\s+127\.0\.0\.3:8080\s+crashed\s+1\s+0\s+1\s+connect 1/,
    );
    expect(text.find((line) => line.startsWith('  total'))).toMatch(/total\s+4\s+3\s+1\s+connect 1/);
    expect(text.filter((line) => line.startsWith('  ✓'))).toHaveLength(4);
  });

  it('on an 80-column terminal: the endpoint and OK go, fates lose their details; nothing wraps', () => {
    const { ledger, requests } = scenario();
    const pods = [
      { name: 'web-62zmn2f2-txh94', address: '127.0.0.2', fate: 'gone (slow +150 ms, replaced by v2)' },
      { name: 'web-62zmn2f2-75q8x', address: '127.0.0.3', fate: 'crashed' },
      { name: 'web-l9fxxq2z-hr5x6', address: '127.0.0.4', fate: 'running' },
    ];
    const summary = buildSummary(input(ledger, requests, { pods }));
    const wide = renderSummary(summary, { color: false, width: 160 });
    expect(wide).toEqual(renderSummary(summary, { color: false }));
    expect(
      wide
        .find((line) => line.includes('POD'))
        ?.trim()
        .split(/\s{2,}/),
    ).toEqual(['POD', 'ENDPOINT', 'FATE', 'ATTEMPTS', 'OK', 'FAILED', 'FAILURES']);
    const narrow = renderSummary(summary, { color: false, width: 80 });
    for (const line of narrow) expect(line.length).toBeLessThanOrEqual(79);
    expect(
      narrow
        .find((line) => line.includes('POD'))
        ?.trim()
        .split(/\s{2,}/),
    ).toEqual(['POD', 'FATE', 'ATTEMPTS', 'FAILED', 'FAILURES']);
    expect(
      narrow
        .find((line) => line.includes('txh94'))
        ?.trim()
        .split(/\s{2,}/),
    ).toEqual(['web-62zmn2f2-txh94', 'gone (slow, replaced)', '3', '0']);
    expect(
      narrow
        .find((line) => line.includes('75q8x'))
        ?.trim()
        .split(/\s{2,}/),
    ).toEqual(['web-62zmn2f2-75q8x', 'crashed', '1', '1', 'connect 1']);
    // The prose wraps between words under its indent.
    expect(narrow).toContain(
      '            1 attempts failed on dying or dead pods; the agent retried them, 0',
    );
    expect(narrow).toContain('            requests failed');
  });

  it('each check fails when its counts do not add up', () => {
    const { ledger, requests } = scenario();
    // A request still in flight: sent ≠ succeeded + failed.
    requests.start();
    expect(buildSummary(input(ledger, requests)).checks.map((c) => c.ok)).toEqual([false, true, true, true]);

    const second = scenario();
    // A lease never released: the attempt is neither ok nor failed.
    second.ledger.picked('127.0.0.2:8080');
    expect(buildSummary(input(second.ledger, second.requests)).checks[1]?.ok).toBe(false);

    const third = scenario();
    // An ok attempt that no succeeded request accounts for (e.g. an aborted request's neutral release).
    third.ledger.picked('127.0.0.2:8080');
    third.ledger.released('127.0.0.2:8080', { ok: true });
    const summary = buildSummary(input(third.ledger, third.requests));
    expect(summary.checks[2]?.ok).toBe(false);
    expect(
      renderSummary(summary, { color: false }).some((line) => line.startsWith('  ✗ each succeeded request')),
    ).toBe(true);

    const rows = scenario();
    // Totals that the per-endpoint rows do not sum to (an attempt counted in one place only).
    const totals = rows.ledger.totals();
    const miscounted = input(rows.ledger, rows.requests, {
      attempts: { ...totals, attempts: totals.attempts + 1, failed: totals.failed + 1 },
    });
    expect(buildSummary(miscounted).checks.map((c) => c.ok)).toEqual([true, false, true, true]);

    const fourth = scenario();
    const disagreeing = input(fourth.ledger, fourth.requests, {
      balancer: { picks: 5, successes: 3, failures: 1 },
    });
    expect(buildSummary(disagreeing).checks[3]?.ok).toBe(false);
  });
});

describe('explainError', () => {
  it('403: names the verb and resource to grant, with kubectl commands for the subject', () => {
    const error = new KubeApiError({
      method: 'GET',
      path: '/api/v1/namespaces/shop/endpoints',
      status: {
        code: 403,
        reason: 'Forbidden',
        message:
          'endpoints is forbidden: User "alice" cannot list resource "endpoints" in API group "" in the namespace "shop"',
      },
    });
    const { message, hint } = explainError(error);
    expect(message).toMatch(/^the apiserver refused to list endpoints in namespace shop \(403 Forbidden: /);
    expect(hint).toContain('grant list, watch on endpoints in namespace shop');
    expect(hint).toContain(
      'kubectl create role endpoint-watch -n shop --verb=list,watch --resource=endpoints',
    );
    expect(hint).toContain('--user=alice');
    expect(needsUserAction(error)).toBe(true);
  });

  it('TLS name mismatch suggests --tls-server-name; unreachable and config errors get advice', () => {
    const tls = new KubeTransportError(
      'ERR_KUBE_TLS_NAME',
      'GET',
      '/x',
      'certificate is for cluster.condi.me',
    );
    expect(explainError(tls).hint).toContain('--tls-server-name <name>');
    // The SDK's own advice is not repeated above the hint.
    const untrusted = new KubeTransportError(
      'ERR_KUBE_TLS_TRUST',
      'GET',
      '/x',
      'the apiserver certificate of https://127.0.0.1:6443 is not trusted (SELF_SIGNED_CERT_IN_CHAIN: self-signed); check the CA (certificate-authority-data, or ca.crt in-cluster). No credentials were sent.',
    );
    expect(explainError(untrusted)).toEqual({
      message:
        'GET /x: the apiserver certificate of https://127.0.0.1:6443 is not trusted (SELF_SIGNED_CERT_IN_CHAIN: self-signed). No credentials were sent.',
      hint: "Check the cluster's certificate-authority(-data) in the kubeconfig (in a pod: ca.crt of the service account).",
    });
    const unreachable = new KubeTransportError(
      'ERR_KUBE_UNREACHABLE',
      'GET',
      '/x',
      'cannot reach https://127.0.0.1:1',
    );
    expect(explainError(unreachable).hint).toContain('Is the cluster running and reachable');
    const context = new KubeConfigError('Context "nope" not found in kubeconfig /k (available: fake)');
    expect(explainError(context).hint).toContain('kubectl config get-contexts');
    expect(needsUserAction(new KubeTransportError('ERR_KUBE_TRANSPORT', 'GET', '/x', 'stream broke'))).toBe(
      false,
    );
  });
});
