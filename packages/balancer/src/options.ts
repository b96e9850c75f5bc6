import { BalancerOptionsError } from './errors.js';
import type {
  BalancerOptions,
  HashOptions,
  StrategyFactory,
  StrategyName,
  SuccessRateOptions,
} from './types.js';

export const DEFAULTS = {
  strategy: 'least-request',
  choiceCount: 2,
  activeRequestBias: 1,
  ewmaDecayMs: 10_000,
  ewmaDefaultLatencyMs: 30,
  tableSize: 65_537,
  ringMinSize: 1_024,
  consecutiveFailures: 5,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 10,
  ejectionIntervalMs: 10_000,
  successRateMinimumHosts: 5,
  successRateRequestVolume: 100,
  successRateStdevFactor: 1.9,
  panicThresholdPercent: 50,
  slowStartAggression: 1,
  slowStartMinWeightPercent: 10,
  zoneMinClusterSize: 6,
  noEndpointsTimeoutMs: 3_000,
} as const;

export interface ResolvedOutlierOptions {
  readonly consecutiveFailures: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
  readonly alwaysEjectOneHost: boolean;
  readonly intervalMs: number;
  readonly successRate: ResolvedSuccessRateOptions | undefined;
}

export interface ResolvedSuccessRateOptions {
  readonly minimumHosts: number;
  readonly requestVolume: number;
  readonly stdevFactor: number;
}

export interface ResolvedSlowStartOptions {
  readonly windowMs: number;
  readonly aggression: number;
  readonly minWeightPercent: number;
}

export interface ResolvedZoneOptions {
  readonly local: string;
  readonly node: string | undefined;
  readonly minClusterSize: number;
}

export interface ResolvedOptions {
  readonly strategy: StrategyName | StrategyFactory;
  readonly choiceCount: number;
  readonly activeRequestBias: number;
  readonly ewmaDecayMs: number;
  readonly ewmaDefaultLatencyMs: number;
  readonly hash: Readonly<Required<HashOptions>>;
  readonly outlier: ResolvedOutlierOptions | undefined;
  readonly panicThresholdPercent: number;
  readonly slowStart: ResolvedSlowStartOptions | undefined;
  readonly zone: ResolvedZoneOptions | undefined;
  readonly now: () => number;
  readonly random: () => number;
  readonly noEndpointsTimeoutMs: number;
  readonly name: string | undefined;
}

/**
 * Envoy's bounds on the consistent-hash tables (maglev `table_size`, ring hash `minimum_ring_size`):
 * a table is built in full at every membership change, so a larger one is memory and time that no
 * balancing needs (2^31 slots took 8 GiB, or a RangeError).
 */
const MAX_TABLE_SIZE = 5_000_011;
const MAX_RING_SIZE = 8_388_608;

const STRATEGIES: readonly StrategyName[] = [
  'least-request',
  'round-robin',
  'random',
  'peak-ewma',
  'consistent-hash',
];

/** Fills defaults and checks ranges; throws `BalancerOptionsError` naming the option. */
export function resolveOptions(options: BalancerOptions = {}): ResolvedOptions {
  const strategy = options.strategy ?? DEFAULTS.strategy;
  if (typeof strategy !== 'function' && !STRATEGIES.includes(strategy)) {
    throw new BalancerOptionsError(`strategy must be one of ${STRATEGIES.join(', ')} or a function`);
  }
  const hash = options.hash ?? {};
  const tableSize = int('hash.tableSize', hash.tableSize ?? DEFAULTS.tableSize, 2, MAX_TABLE_SIZE);
  if (!isPrime(tableSize)) throw new BalancerOptionsError(`hash.tableSize must be a prime, got ${tableSize}`);
  const algorithm = hash.algorithm ?? 'maglev';
  if (algorithm !== 'maglev' && algorithm !== 'ring') {
    throw new BalancerOptionsError(`hash.algorithm must be maglev or ring`);
  }
  const od = options.outlierDetection;
  const outlier =
    od === false
      ? undefined
      : {
          consecutiveFailures: int(
            'outlierDetection.consecutiveFailures',
            od?.consecutiveFailures ?? DEFAULTS.consecutiveFailures,
            1,
          ),
          baseEjectionMs: num(
            'outlierDetection.baseEjectionMs',
            od?.baseEjectionMs ?? DEFAULTS.baseEjectionMs,
            0,
          ),
          maxEjectionMs: num(
            'outlierDetection.maxEjectionMs',
            od?.maxEjectionMs ?? DEFAULTS.maxEjectionMs,
            0,
          ),
          maxEjectionPercent: num(
            'outlierDetection.maxEjectionPercent',
            od?.maxEjectionPercent ?? DEFAULTS.maxEjectionPercent,
            0,
            100,
          ),
          alwaysEjectOneHost: od?.alwaysEjectOneHost ?? true,
          intervalMs: num('outlierDetection.intervalMs', od?.intervalMs ?? DEFAULTS.ejectionIntervalMs, 1),
          successRate: od?.successRate === false ? undefined : resolveSuccessRate(od?.successRate ?? {}),
        };
  if (outlier && outlier.maxEjectionMs < outlier.baseEjectionMs) {
    throw new BalancerOptionsError('outlierDetection.maxEjectionMs must be at least baseEjectionMs');
  }
  const ss = options.slowStart;
  const slowStart = ss
    ? {
        windowMs: num('slowStart.windowMs', ss.windowMs, 0),
        aggression: num(
          'slowStart.aggression',
          ss.aggression ?? DEFAULTS.slowStartAggression,
          Number.MIN_VALUE,
        ),
        minWeightPercent: num(
          'slowStart.minWeightPercent',
          ss.minWeightPercent ?? DEFAULTS.slowStartMinWeightPercent,
          Number.MIN_VALUE,
          100,
        ),
      }
    : undefined;
  const z = options.zone;
  if (z && (typeof z.local !== 'string' || z.local === '')) {
    throw new BalancerOptionsError('zone.local must be a non-empty zone name');
  }
  if (z?.node !== undefined && (typeof z.node !== 'string' || z.node === '')) {
    throw new BalancerOptionsError('zone.node must be a non-empty node name');
  }
  const zone = z
    ? {
        local: z.local,
        node: z.node,
        minClusterSize: int('zone.minClusterSize', z.minClusterSize ?? DEFAULTS.zoneMinClusterSize, 0),
      }
    : undefined;
  return {
    strategy,
    choiceCount: int('choiceCount', options.choiceCount ?? DEFAULTS.choiceCount, 1),
    activeRequestBias: num('activeRequestBias', options.activeRequestBias ?? DEFAULTS.activeRequestBias, 0),
    ewmaDecayMs: num('ewmaDecayMs', options.ewmaDecayMs ?? DEFAULTS.ewmaDecayMs, Number.MIN_VALUE),
    ewmaDefaultLatencyMs: num(
      'ewmaDefaultLatencyMs',
      options.ewmaDefaultLatencyMs ?? DEFAULTS.ewmaDefaultLatencyMs,
      0,
    ),
    hash: {
      algorithm,
      tableSize,
      ringMinSize: int('hash.ringMinSize', hash.ringMinSize ?? DEFAULTS.ringMinSize, 1, MAX_RING_SIZE),
    },
    outlier,
    panicThresholdPercent: num(
      'panicThresholdPercent',
      options.panicThresholdPercent ?? DEFAULTS.panicThresholdPercent,
      0,
      100,
    ),
    slowStart,
    zone,
    now: optionalFunction('now', options.now) ?? (() => performance.now()),
    random: optionalFunction('random', options.random) ?? Math.random,
    noEndpointsTimeoutMs: timerMs(
      'noEndpointsTimeoutMs',
      options.noEndpointsTimeoutMs ?? DEFAULTS.noEndpointsTimeoutMs,
    ),
    name: options.name,
  };
}

/** Node runs a timer of a longer delay after 1 ms (with a warning). */
const MAX_TIMER_MS = 2_147_483_647;

/** A delay for a timer, in [0, 2^31 - 1] ms; throws `BalancerOptionsError` naming it. */
export function timerMs(name: string, value: number): number {
  return num(name, value, 0, MAX_TIMER_MS);
}

function num(name: string, value: number, min: number, max = Number.MAX_VALUE): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new BalancerOptionsError(
      `${name} must be a finite number in [${min}, ${max}], got ${String(value)}`,
    );
  }
  return value;
}

function int(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new BalancerOptionsError(`${name} must be an integer ${range}, got ${String(value)}`);
  }
  return value;
}

function optionalFunction<T>(name: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new BalancerOptionsError(`${name} must be a function, got ${typeof value}`);
  }
  return value;
}

export function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

function resolveSuccessRate(sr: SuccessRateOptions): ResolvedSuccessRateOptions {
  return {
    minimumHosts: int(
      'outlierDetection.successRate.minimumHosts',
      sr.minimumHosts ?? DEFAULTS.successRateMinimumHosts,
      1,
    ),
    requestVolume: int(
      'outlierDetection.successRate.requestVolume',
      sr.requestVolume ?? DEFAULTS.successRateRequestVolume,
      1,
    ),
    stdevFactor: num(
      'outlierDetection.successRate.stdevFactor',
      sr.stdevFactor ?? DEFAULTS.successRateStdevFactor,
      0,
    ),
  };
}
