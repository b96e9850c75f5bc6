/**
 * The chaos schedule: which fault, when, with what parameters; a pure function of the seed, so
 * `CHAOS_SEED=<n>` replays the same schedule. Faults of one family never overlap (two watch stalls
 * would end each other), faults of different families do (they compound, as in a real outage).
 */
import { seededRandom } from '@endpoint-watch/testing';

/** Which requests a request fault applies to. */
export type Target = 'watch' | 'list' | 'any';

export type Fault =
  | { readonly kind: 'cut'; readonly midEvent: boolean }
  /** Random chunking of watch bodies, also inside UTF-8 characters. */
  | {
      readonly kind: 'chunking';
      readonly seed: number;
      readonly maxChunkBytes: number;
      readonly durationMs: number;
    }
  /** Watch bodies trickle a byte or two at a time: the socket looks alive, no event completes. */
  | {
      readonly kind: 'drip';
      readonly seed: number;
      readonly maxChunkBytes: number;
      readonly delayMs: number;
      readonly durationMs: number;
    }
  | { readonly kind: 'expire' }
  | { readonly kind: 'compact' }
  | {
      readonly kind: 'status';
      readonly code: 410 | 429 | 500 | 503;
      readonly count: number;
      readonly retryAfterSeconds: number | undefined;
      readonly target: Target;
    }
  | {
      readonly kind: 'hugeErrorBody';
      readonly code: 500 | 503;
      readonly bodyBytes: number;
      readonly target: Target;
    }
  | {
      readonly kind: 'stallHeaders';
      readonly count: number;
      readonly target: Target;
      readonly durationMs: number;
    }
  | { readonly kind: 'stallListBody'; readonly bytes: number; readonly durationMs: number }
  | { readonly kind: 'stallWatches'; readonly durationMs: number }
  | { readonly kind: 'restart'; readonly downMs: number }
  | { readonly kind: 'rotateToken'; readonly serverFirst: boolean; readonly gapMs: number }
  | { readonly kind: 'malformed'; readonly line: string }
  | { readonly kind: 'oversized'; readonly bytes: number }
  | { readonly kind: 'podKill'; readonly pod: number; readonly downMs: number };

export type FaultKind = Fault['kind'];

export interface ScheduledFault {
  /** ms after the start of the run. */
  readonly at: number;
  readonly fault: Fault;
}

export interface ScheduleOptions {
  readonly seed: number;
  readonly durationMs: number;
  /** Mean rate of apiserver faults. */
  readonly faultsPerSecond: number;
  /** Mean rate of pod deaths (0: none). */
  readonly podKillsPerSecond: number;
  readonly pods: number;
  /** At most this many pods dead at once. */
  readonly maxDeadPods: number;
  /** Size of an oversized watch event (over the client's cap). */
  readonly oversizedBytes: number;
  /** Size of a huge error body. */
  readonly hugeBodyBytes: number;
  /** Relative frequency of each apiserver fault (0 leaves one out). */
  readonly weights?: Partial<Record<Exclude<FaultKind, 'podKill'>, number>>;
}

export const DEFAULT_WEIGHTS: Readonly<Record<Exclude<FaultKind, 'podKill'>, number>> = {
  cut: 3,
  chunking: 1,
  drip: 1,
  expire: 1,
  compact: 1,
  status: 3,
  hugeErrorBody: 0.5,
  stallHeaders: 1.5,
  stallListBody: 1,
  stallWatches: 1,
  restart: 1,
  rotateToken: 1,
  malformed: 1,
  oversized: 1,
};

/** Lines no client may take for an event: cut JSON, not JSON, an envelope without object or resourceVersion. */
export const MALFORMED_LINES: readonly string[] = [
  '{"type":"ADDED","object":',
  'not json at all',
  '{"type":"MODIFIED"}',
  '{"type":"BOOKMARK","object":{"metadata":{}}}',
  '{"type":"ERROR","object":{}}',
  '\u0000\u0001\u0002',
  '[]',
];

/** Faults of one family never overlap; the value is how long a fault of that kind lasts. */
function family(fault: Fault): { name: string; durationMs: number } | undefined {
  switch (fault.kind) {
    case 'chunking':
    case 'drip':
      return { name: 'writes', durationMs: fault.durationMs };
    case 'stallHeaders':
    case 'stallListBody':
      return { name: 'held', durationMs: fault.durationMs };
    case 'stallWatches':
      return { name: 'watchStall', durationMs: fault.durationMs };
    case 'restart':
      return { name: 'listener', durationMs: fault.downMs };
    case 'rotateToken':
      return { name: 'token', durationMs: fault.gapMs };
    default:
      return undefined;
  }
}

/** How long a fault keeps acting after it starts (0: at once). */
export function faultDurationMs(fault: Fault): number {
  return fault.kind === 'podKill' ? fault.downMs : (family(fault)?.durationMs ?? 0);
}

export function faultSchedule(options: ScheduleOptions): ScheduledFault[] {
  const random = seededRandom(options.seed);
  const between = (min: number, max: number) => Math.floor(min + random() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const target = (): Target => pick(['watch', 'list', 'any'] as const);
  /** Exponential gaps: a Poisson process of the given rate. */
  const gap = (perSecond: number) => (-Math.log(1 - random()) / perSecond) * 1000;

  const make: Record<Exclude<FaultKind, 'podKill'>, () => Fault> = {
    cut: () => ({ kind: 'cut', midEvent: random() < 0.5 }),
    chunking: () => ({
      kind: 'chunking',
      seed: between(1, 1e9),
      maxChunkBytes: between(1, 64),
      durationMs: between(500, 5000),
    }),
    drip: () => ({
      kind: 'drip',
      seed: between(1, 1e9),
      maxChunkBytes: between(1, 2),
      delayMs: between(200, 400),
      durationMs: between(1000, 6000),
    }),
    expire: () => ({ kind: 'expire' }),
    compact: () => ({ kind: 'compact' }),
    status: () => {
      const code = pick([410, 429, 500, 503] as const);
      const retryAfter = (code === 429 || code === 503) && random() < 0.7;
      return {
        kind: 'status',
        code,
        count: between(1, 3),
        retryAfterSeconds: retryAfter ? between(1, 3) : undefined,
        target: target(),
      };
    },
    hugeErrorBody: () => ({
      kind: 'hugeErrorBody',
      code: pick([500, 503] as const),
      bodyBytes: options.hugeBodyBytes,
      target: target(),
    }),
    stallHeaders: () => ({
      kind: 'stallHeaders',
      count: between(1, 2),
      target: target(),
      durationMs: between(500, 6000),
    }),
    stallListBody: () => ({ kind: 'stallListBody', bytes: between(1, 200), durationMs: between(500, 6000) }),
    stallWatches: () => ({ kind: 'stallWatches', durationMs: between(500, 6000) }),
    restart: () => ({ kind: 'restart', downMs: random() < 0.5 ? 0 : between(300, 3000) }),
    rotateToken: () => ({ kind: 'rotateToken', serverFirst: random() < 0.5, gapMs: between(0, 2000) }),
    malformed: () => ({ kind: 'malformed', line: pick(MALFORMED_LINES) }),
    oversized: () => ({ kind: 'oversized', bytes: options.oversizedBytes }),
  };
  const weights = { ...DEFAULT_WEIGHTS, ...options.weights };
  const kinds = (Object.keys(weights) as Array<keyof typeof weights>).filter((k) => weights[k] > 0);
  const total = kinds.reduce((sum, k) => sum + weights[k], 0);
  const drawKind = () => {
    let r = random() * total;
    for (const k of kinds) {
      r -= weights[k];
      if (r < 0) return k;
    }
    return kinds.at(-1)!;
  };

  const out: ScheduledFault[] = [];
  const busyUntil = new Map<string, number>();
  if (total > 0 && options.faultsPerSecond > 0) {
    for (let at = gap(options.faultsPerSecond); at < options.durationMs; at += gap(options.faultsPerSecond)) {
      const fault = make[drawKind()]();
      const fam = family(fault);
      if (fam !== undefined) {
        if ((busyUntil.get(fam.name) ?? 0) > at || at + fam.durationMs > options.durationMs) continue;
        busyUntil.set(fam.name, at + fam.durationMs);
      }
      out.push({ at: Math.round(at), fault });
    }
  }

  const deadUntil: number[] = Array.from({ length: options.pods }, () => 0);
  if (options.podKillsPerSecond > 0 && options.pods > 0) {
    for (
      let at = gap(options.podKillsPerSecond);
      at < options.durationMs;
      at += gap(options.podKillsPerSecond)
    ) {
      const dead = deadUntil.filter((until) => until > at).length;
      const alive = deadUntil.flatMap((until, pod) => (until > at ? [] : [pod]));
      if (dead >= options.maxDeadPods || alive.length === 0) continue;
      const downMs = between(300, 4000);
      if (at + downMs > options.durationMs) continue;
      const pod = pick(alive);
      deadUntil[pod] = at + downMs;
      out.push({ at: Math.round(at), fault: { kind: 'podKill', pod, downMs } });
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

/** How many faults of each kind a schedule holds (`cut` split by `midEvent`). */
export function countFaults(schedule: readonly ScheduledFault[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { fault } of schedule) {
    const name =
      fault.kind === 'cut' && fault.midEvent
        ? 'cutMidEvent'
        : fault.kind === 'status'
          ? `status${fault.code}${fault.retryAfterSeconds === undefined ? '' : '+RetryAfter'}`
          : fault.kind === 'restart' && fault.downMs > 0
            ? 'restartDown'
            : fault.kind;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}
