/**
 * The demo's closing summary, built once every request has ended: the request and attempt counts,
 * one row per pod, and the consistency checks between them (see `ledger.ts`). Pure.
 */
import type { FailureKind } from '@endpoint-watch/balancer';
import type { AttemptCounts, RequestCounts } from './ledger.js';

export interface SummaryPod {
  readonly name: string;
  readonly address: string;
  /** `running`, `crashed`, `gone (replaced by v2)`, … */
  readonly fate: string;
}

export interface SummaryRow {
  readonly pod: string | undefined;
  /** `address:port`. */
  readonly endpoint: string;
  readonly fate: string;
  readonly attempts: number;
  readonly ok: number;
  readonly failed: number;
  readonly failures: Readonly<Partial<Record<FailureKind, number>>>;
}

export interface SummaryCheck {
  readonly ok: boolean;
  readonly text: string;
}

export interface DemoSummary {
  readonly service: string;
  readonly elapsedMs: number;
  readonly endedBy: 'duration' | 'interrupt';
  readonly requests: RequestCounts;
  readonly attempts: AttemptCounts;
  readonly rows: readonly SummaryRow[];
  /** The balancer's own lifetime counters. */
  readonly balancer: { readonly picks: number; readonly successes: number; readonly failures: number };
  readonly checks: readonly SummaryCheck[];
}

export interface SummaryInput {
  readonly service: string;
  readonly elapsedMs: number;
  readonly endedBy: 'duration' | 'interrupt';
  readonly requests: RequestCounts;
  /** Ledger entries: `address:port` → counts. */
  readonly endpoints: readonly (readonly [string, AttemptCounts])[];
  readonly attempts: AttemptCounts;
  readonly pods: readonly SummaryPod[];
  /** The pods' port, to name pods that never got an attempt. */
  readonly port: number;
  readonly balancer: DemoSummary['balancer'];
}

export function buildSummary(input: SummaryInput): DemoSummary {
  const byKey = new Map(input.endpoints);
  const rows: SummaryRow[] = [];
  const seen = new Set<string>();
  for (const pod of input.pods) {
    const key = `${pod.address}:${input.port}`;
    seen.add(key);
    rows.push(row(pod.name, key, pod.fate, byKey.get(key)));
  }
  for (const [key, counts] of input.endpoints) {
    if (!seen.has(key)) rows.push(row(undefined, key, 'unknown', counts));
  }
  const sum = (pick: (r: SummaryRow) => number) => rows.reduce((total, r) => total + pick(r), 0);
  const { requests, attempts, balancer } = input;
  const perEndpoint = {
    attempts: sum((r) => r.attempts),
    ok: sum((r) => r.ok),
    failed: sum((r) => r.failed),
  };
  const checks: SummaryCheck[] = [
    {
      ok: requests.inFlight === 0 && requests.sent === requests.succeeded + requests.failed,
      text: `requests: sent ${requests.sent} = succeeded ${requests.succeeded} + failed ${requests.failed}`,
    },
    {
      ok:
        rows.every((r) => r.attempts === r.ok + r.failed) &&
        perEndpoint.attempts === perEndpoint.ok + perEndpoint.failed &&
        perEndpoint.attempts === attempts.attempts &&
        attempts.inFlight === 0,
      text: `attempts: per-pod sum ${perEndpoint.attempts} = ok ${perEndpoint.ok} + failed ${perEndpoint.failed}, each pod's row adds up too`,
    },
    {
      ok: perEndpoint.ok === requests.succeeded,
      text: `each succeeded request is exactly one ok attempt: ${perEndpoint.ok} = ${requests.succeeded}`,
    },
    {
      ok:
        balancer.picks === perEndpoint.attempts &&
        balancer.successes === perEndpoint.ok &&
        balancer.failures === perEndpoint.failed,
      text: `the balancer's own counters agree: picks ${balancer.picks}, successes ${balancer.successes}, failures ${balancer.failures}`,
    },
  ];
  return {
    service: input.service,
    elapsedMs: input.elapsedMs,
    endedBy: input.endedBy,
    requests,
    attempts,
    rows,
    balancer,
    checks,
  };
}

function row(
  pod: string | undefined,
  endpoint: string,
  fate: string,
  counts: AttemptCounts | undefined,
): SummaryRow {
  return {
    pod,
    endpoint,
    fate,
    attempts: counts?.attempts ?? 0,
    ok: counts?.ok ?? 0,
    failed: counts?.failed ?? 0,
    failures: counts?.failures ?? {},
  };
}
