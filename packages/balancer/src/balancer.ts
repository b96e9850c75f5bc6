import {
  changesSince,
  type Endpoint,
  type EndpointChanges,
  type EndpointSet,
  type EndpointSourceInfo,
  endpointSourceOf,
  KubeApiError,
  rbacGrantFor,
  type WatchHealth,
} from '@endpoint-watch/core';
import { Observable, Subject, type Subscription } from 'rxjs';
import { EndpointSlots } from './endpoint-slots.js';
import { EndpointRecord, endpointKey } from './endpoint-state.js';
import { BalancerClosedError, NoEndpointsError } from './errors.js';
import { instrumentBalancer } from './metrics.js';
import { type ResolvedOptions, resolveOptions, timerMs } from './options.js';
import { OutlierDetector } from './outlier-detection.js';
import { isPanic } from './panic.js';
import { slowStartWeight } from './slow-start.js';
import { STRATEGY_FACTORIES } from './strategies/index.js';
import { randomIndex } from './strategies/sampling.js';
import {
  isPositionStrategy,
  type PositionStrategy,
  type SlotStrategyContext,
} from './strategies/slot-context.js';
import type {
  BalancedEndpoint,
  Balancer,
  BalancerOptions,
  BalancerStats,
  EndpointState,
  EndpointStats,
  Lease,
  Outcome,
  PickOptions,
  Strategy,
  WaitForPickOptions,
  ZoneRouting,
} from './types.js';
import { ZoneCounts, type ZoneGroup } from './zone.js';

/**
 * A per-request load balancer over a stream of endpoint sets (typically `watchEndpoints(...)`).
 * Subscribes at once; state is kept per `address:port` across sets. See the package README.
 */
export function createBalancer(endpoints$: Observable<EndpointSet>, options?: BalancerOptions): Balancer {
  const balancer = new EndpointBalancer(endpoints$, resolveOptions(options));
  const metrics = options?.metrics;
  if (!metrics) return balancer;
  return instrumentBalancer(balancer, metrics === true ? {} : metrics);
}

/**
 * With `exclude`: how many more times the strategy is asked after its first answer was excluded,
 * before falling back to a scan of the candidates (the rare path).
 */
const EXCLUDE_RETRIES = 3;

/** Ends one lease: the balancer's, shared by every lease. */
type ReleaseLease = (slot: number, generation: number, pickedAt: number, outcome: Outcome) => void;

/**
 * One pick's lease: a class rather than an object with a closure, so that a pick allocates one small
 * object. It holds the endpoint's slot and the slot's generation, not its record: neither a pick nor
 * a release reads the record (see `EndpointSlots`).
 */
class PickedLease implements Lease {
  #slot: number;
  readonly #generation: number;
  readonly #pickedAt: number;
  readonly #release: ReleaseLease;

  constructor(
    readonly key: string,
    readonly endpoint: Endpoint,
    slot: number,
    generation: number,
    pickedAt: number,
    release: ReleaseLease,
  ) {
    this.#slot = slot;
    this.#generation = generation;
    this.#pickedAt = pickedAt;
    this.#release = release;
  }

  release(outcome: Outcome): void {
    const slot = this.#slot;
    if (slot < 0) return;
    this.#slot = -1;
    this.#release(slot, this.#generation, this.#pickedAt, outcome);
  }
}

interface Waiter {
  /** Tries to pick; settles and returns true when it did. */
  attempt(): boolean;
  fail(error: unknown): void;
}

/** Appends a record to a member or candidate array, keeping its position on the record. */
function append(list: EndpointRecord[], record: EndpointRecord, at: 'memberIndex' | 'candidateIndex'): void {
  record[at] = list.length;
  list.push(record);
}

/** Removes a record from such an array in O(1): the last one takes its place. */
function detach(list: EndpointRecord[], record: EndpointRecord, at: 'memberIndex' | 'candidateIndex'): void {
  const i = record[at];
  const last = list.pop()!;
  if (last !== record) {
    list[i] = last;
    last[at] = i;
  }
  record[at] = -1;
}

function asRecord(state: EndpointState): EndpointRecord {
  if (!(state instanceof EndpointRecord)) {
    throw new TypeError('a strategy must return one of the EndpointState objects it was given');
  }
  return state;
}

class EndpointBalancer implements Balancer {
  readonly stats$: Observable<BalancerStats>;
  readonly left$: Observable<readonly string[]>;
  readonly #options: ResolvedOptions;
  readonly #clock: () => number;
  readonly #strategy: Strategy;
  readonly #outlier: OutlierDetector | undefined;
  /** Every member's counters and latency estimate by slot (a removed member's slot is given back at once). */
  readonly #slots: EndpointSlots;
  /** Each slot's record (for the rare paths: a failure, an excluded pick). */
  readonly #recordAt: (EndpointRecord | undefined)[] = [];
  /** The strategy answers with positions in `#candidates` (the built-in load-based ones). */
  readonly #picksPositions: boolean;
  readonly #changes = new Subject<BalancerStats>();
  readonly #left = new Subject<readonly string[]>();
  readonly #waiters = new Set<Waiter>();
  readonly #totals = { inFlight: 0, picks: 0, successes: 0, failures: 0 };
  #records = new Map<string, EndpointRecord>();
  /** Owned and updated in place by incremental changes (positions in `memberIndex`). */
  #members: EndpointRecord[] = [];
  /** Owned, never the member array; updated in place by incremental changes (`candidateIndex`). */
  #candidates: EndpointRecord[] = [];
  #ejected = 0;
  #nextReturnAt = Number.POSITIVE_INFINITY;
  /** When the success rates are next compared (no timer: the first pick or outcome after it does). */
  #nextSweepAt = Number.POSITIVE_INFINITY;
  #panic = false;
  #zoneRouting: ZoneRouting = 'off';
  /** With the `zone` option: the members in each group of zone preference (kept up to date by diffs). */
  #zoneCounts: ZoneCounts | undefined;
  /** The group the candidates come from (out of panic, with the `zone` option). */
  #zoneGroup: ZoneGroup = 'spill';
  #set: EndpointSet | undefined;
  #sourceEnded = false;
  #sourceError: unknown;
  /** The Service and watch behind a `watchEndpoints` stream, when that is what was given. */
  readonly #source: EndpointSourceInfo | undefined;
  /** Its latest health: why no set has come (a 403, TLS, unreachable), or why a set is empty. */
  #health: WatchHealth | undefined;
  #healthSubscription: Subscription | undefined;
  #closed = false;
  #subscription: Subscription | undefined;
  readonly #releaseLease: ReleaseLease = (slot, generation, pickedAt, outcome) =>
    this.#release(slot, generation, pickedAt, outcome);

  constructor(endpoints$: Observable<EndpointSet>, options: ResolvedOptions) {
    this.#options = options;
    this.#clock = options.now;
    const slots = new EndpointSlots(options.ewmaDecayMs, options.ewmaDefaultLatencyMs);
    this.#slots = slots;
    this.#outlier = options.outlier ? new OutlierDetector(options.outlier) : undefined;
    if (options.outlier?.successRate) this.#nextSweepAt = this.#clock() + options.outlier.intervalMs;
    const weightAt =
      options.slowStart === undefined
        ? () => 1
        : (slot: number, now: number) =>
            slowStartWeight(options.slowStart, this.#recordAt[slot]?.slowStartSince, now);
    const context: SlotStrategyContext = {
      random: options.random,
      now: options.now,
      choiceCount: options.choiceCount,
      activeRequestBias: options.activeRequestBias,
      hash: options.hash,
      // Without slow start every weight is 1: no per-sample call into the record.
      weight:
        options.slowStart === undefined
          ? () => 1
          : (state, now) => slowStartWeight(options.slowStart, asRecord(state).slowStartSince, now),
      latency: (state, now) => slots.ewma.read(asRecord(state).slot, now),
      slots,
      weightAt,
    };
    this.#strategy =
      typeof options.strategy === 'function'
        ? options.strategy(context)
        : STRATEGY_FACTORIES[options.strategy](context);
    // Positions are only meaningful in the balancer's own array, which only updateCandidates gets.
    this.#picksPositions =
      isPositionStrategy(this.#strategy) && this.#strategy.updateCandidates !== undefined;
    this.stats$ = new Observable<BalancerStats>((subscriber) => {
      subscriber.next(this.stats());
      if (this.#closed) {
        subscriber.complete();
        return;
      }
      return this.#changes.subscribe(subscriber);
    });
    this.left$ = this.#left.asObservable();
    this.#source = endpointSourceOf(endpoints$);
    // Shares the stream's watch: no request of its own. Only read to explain "no endpoints".
    this.#healthSubscription = this.#source?.health$.subscribe({
      next: (health) => {
        this.#health = health;
      },
      error: () => {},
    });
    const subscription = endpoints$.subscribe({
      next: (set) => this.#onSet(set),
      error: (error: unknown) => this.#onSourceEnd(error),
      complete: () => this.#onSourceEnd(undefined),
    });
    // close() may have run during a synchronous emission.
    if (this.#closed) subscription.unsubscribe();
    else this.#subscription = subscription;
  }

  pick(key?: string, options?: PickOptions): Lease | undefined {
    if (this.#closed) return undefined;
    const now = this.#clock();
    this.#catchUp(now);
    if (this.#candidates.length === 0) return undefined;
    const exclude = options?.exclude;
    const slots = this.#slots;
    if (exclude !== undefined && exclude.size > 0) {
      const slot = this.#pickExcluding(key, now, exclude);
      return this.#lease(slot, slots.keys[slot]!, slots.endpoints[slot]!, now);
    }
    if (this.#picksPositions) {
      const slot = this.#positionPick(key, now);
      return this.#lease(slot, slots.keys[slot]!, slots.endpoints[slot]!, now);
    }
    // A strategy that answers with records (consistent hashing, a custom one): the record is read
    // anyway, and its key and endpoint are at hand there.
    const record = this.#recordPick(key, now);
    return this.#lease(record.slot, record.key, record.endpoint, now);
  }

  #lease(slot: number, key: string, endpoint: Endpoint, now: number): Lease {
    const slots = this.#slots;
    slots.inFlight[slot]! += 1;
    this.#totals.inFlight += 1;
    this.#totals.picks += 1;
    return new PickedLease(key, endpoint, slot, slots.generation[slot]!, now, this.#releaseLease);
  }

  /** The strategy's pick, as a slot. */
  #strategyPick(key: string | undefined, now: number): number {
    return this.#picksPositions ? this.#positionPick(key, now) : this.#recordPick(key, now).slot;
  }

  #positionPick(key: string | undefined, now: number): number {
    const position = (this.#strategy as PositionStrategy).pickPosition(key, now);
    if (!(position >= 0 && position < this.#candidates.length)) {
      throw new TypeError(`strategy ${this.#strategy.name} picked position ${position}, not a candidate's`);
    }
    return this.#slots.candidateSlots[position]!;
  }

  #recordPick(key: string | undefined, now: number): EndpointRecord {
    const record = asRecord(this.#strategy.pick(key, now));
    // A record that left is never a candidate (`leave`); another balancer's indexes other arrays.
    if (!record.candidate || record.slots !== this.#slots) {
      throw new TypeError(
        `strategy ${this.#strategy.name} picked ${record.key}, which is not a current candidate`,
      );
    }
    return record;
  }

  /**
   * The strategy's pick unless excluded; else asks it again up to `EXCLUDE_RETRIES` times, then
   * scans the candidates for the non-excluded ones and takes one at random. When every candidate is
   * excluded, a member that is not (ejected, or of another zone) at random: a retry is better off on
   * a pod ejected for past failures than on one that has just failed this very request. Only when
   * every member is excluded, the strategy's first answer.
   */
  #pickExcluding(key: string | undefined, now: number, exclude: ReadonlySet<string>): number {
    const keys = this.#slots.keys;
    const first = this.#strategyPick(key, now);
    if (!exclude.has(keys[first]!)) return first;
    const candidates = this.#candidates;
    if (candidates.length === 1) return first;
    for (let i = 0; i < EXCLUDE_RETRIES; i++) {
      const next = this.#strategyPick(key, now);
      if (!exclude.has(keys[next]!)) return next;
    }
    let allowed = candidates.filter((record) => !exclude.has(record.key));
    if (allowed.length === 0) allowed = this.#members.filter((record) => !exclude.has(record.key));
    if (allowed.length === 0) return first;
    return allowed[randomIndex(this.#options.random, allowed.length)]!.slot;
  }

  waitForPick(key?: string, options: WaitForPickOptions = {}): Promise<Lease> {
    const { signal, exclude } = options;
    const pickOptions = exclude === undefined ? undefined : { exclude };
    return new Promise<Lease>((resolve, reject) => {
      let timeoutMs: number;
      try {
        timeoutMs = timerMs('timeoutMs', options.timeoutMs ?? this.#options.noEndpointsTimeoutMs);
      } catch (error) {
        reject(error);
        return;
      }
      if (this.#closed) {
        reject(new BalancerClosedError(this.#service()));
        return;
      }
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const first = this.pick(key, pickOptions);
      if (first) {
        resolve(first);
        return;
      }
      if (timeoutMs === 0 || (this.#sourceEnded && this.#members.length === 0)) {
        reject(this.#noEndpoints(0, timeoutMs === 0 ? 'timeoutMs is 0' : undefined));
        return;
      }
      const started = this.#clock();
      const settle = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        attempt: () => {
          const lease = this.pick(key, pickOptions);
          if (!lease) return false;
          settle();
          resolve(lease);
          return true;
        },
        fail: (error) => {
          settle();
          reject(error);
        },
      };
      const onAbort = () => waiter.fail(signal?.reason);
      const timer = setTimeout(() => {
        if (!waiter.attempt())
          waiter.fail(this.#noEndpoints(this.#clock() - started, `waited ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  get endpoints(): readonly BalancedEndpoint[] {
    const now = this.#refresh();
    return this.#members.map((record) => ({ ...this.#statsOf(record, now), endpoint: record.endpoint }));
  }

  stats(): BalancerStats {
    return this.#snapshot(this.#refresh());
  }

  has(key: string): boolean {
    return this.#records.has(key);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
    this.#healthSubscription?.unsubscribe();
    this.#healthSubscription = undefined;
    this.#candidates = [];
    for (const record of this.#members) record.candidate = false;
    const error = new BalancerClosedError(this.#service());
    for (const waiter of [...this.#waiters]) waiter.fail(error);
    if (this.#changes.observed) this.#changes.next(this.#snapshot(this.#clock()));
    this.#changes.complete();
    this.#left.complete();
  }

  #onSet(set: EndpointSet): void {
    if (this.#closed) return;
    const now = this.#clock();
    const changes = changesSince(this.#set, set);
    if (changes !== undefined && now < this.#nextReturnAt) {
      this.#set = set;
      this.#applyChanges(changes, now);
    } else this.#replaceMembers(set, now);
    for (const waiter of [...this.#waiters]) waiter.attempt();
  }

  /** A set read whole: O(n) plus the strategy's rebuild. */
  #replaceMembers(set: EndpointSet, now: number): void {
    const slowStart = this.#options.slowStart !== undefined && this.#set !== undefined;
    const next = new Map<string, EndpointRecord>();
    for (const endpoint of set.endpoints) {
      const key = endpointKey(endpoint);
      if (next.has(key)) continue;
      let record = this.#records.get(key);
      if (record) record.endpoint = endpoint;
      else record = this.#newRecord(key, endpoint, now, slowStart);
      next.set(key, record);
    }
    const left: string[] = [];
    for (const [key, record] of this.#records) {
      if (next.has(key)) continue;
      this.#forget(record);
      left.push(key);
    }
    this.#records = next;
    const members = [...next.values()];
    for (let i = 0; i < members.length; i++) members[i]!.memberIndex = i;
    this.#members = members;
    this.#set = set;
    this.#rebuild(now);
    if (left.length > 0) this.#left.next(left);
  }

  /** A member left the set: its leases' outcomes no longer count, and its estimate's slot is reused. */
  #forget(record: EndpointRecord): void {
    this.#recordAt[record.slot] = undefined;
    record.leave();
  }

  #newRecord(key: string, endpoint: Endpoint, now: number, slowStart: boolean): EndpointRecord {
    const slot = this.#slots.add(key, endpoint, now);
    const record = new EndpointRecord(key, endpoint, this.#slots, slot, now, slowStart ? now : undefined);
    this.#recordAt[slot] = record;
    return record;
  }

  /** Appends a candidate, keeping `candidateSlots` in step. */
  #addCandidate(record: EndpointRecord): void {
    record.candidate = true;
    this.#slots.candidateSlots[this.#candidates.length] = record.slot;
    append(this.#candidates, record, 'candidateIndex');
  }

  /** Removes a candidate in O(1) (the last one takes its place), keeping `candidateSlots` in step. */
  #dropCandidate(record: EndpointRecord): void {
    record.candidate = false;
    const at = record.candidateIndex;
    const candidates = this.#candidates;
    detach(candidates, record, 'candidateIndex');
    if (at < candidates.length) this.#slots.candidateSlots[at] = candidates[at]!.slot;
  }

  /**
   * The set's diff from the one applied before, in O(changed): the same state as `#replaceMembers`
   * would reach (member and candidate order aside), when no ejection is due (the caller checks). A
   * change of panic mode or of the zone group falls back to the full `#rebuild`.
   */
  #applyChanges(changes: EndpointChanges, now: number): void {
    const records = this.#records;
    const members = this.#members;
    const zone = this.#zoneCounts;
    const added: EndpointRecord[] = [];
    const removed: EndpointRecord[] = [];
    /** Members whose endpoint changed, under zone preference: they may enter or leave the group. */
    const regrouped: EndpointRecord[] = [];
    const left: string[] = [];
    for (const endpoint of changes.removed) {
      const key = endpointKey(endpoint);
      const record = records.get(key);
      if (record === undefined) continue;
      records.delete(key);
      left.push(key);
      zone?.count(record.endpoint, record.ejectedUntil === undefined, -1);
      if (record.candidate) {
        this.#dropCandidate(record);
        removed.push(record);
      }
      this.#forget(record);
      detach(members, record, 'memberIndex');
      if (record.ejectedUntil !== undefined) this.#ejected -= 1;
    }
    for (const { after } of changes.changed) {
      const record = records.get(endpointKey(after));
      if (record === undefined) continue;
      if (zone !== undefined) {
        const healthy = record.ejectedUntil === undefined;
        zone.count(record.endpoint, healthy, -1);
        zone.count(after, healthy, 1);
        regrouped.push(record);
      }
      record.endpoint = after;
    }
    for (const endpoint of changes.added) {
      const key = endpointKey(endpoint);
      if (records.has(key)) continue;
      const record = this.#newRecord(key, endpoint, now, this.#options.slowStart !== undefined);
      records.set(key, record);
      append(members, record, 'memberIndex');
      zone?.count(endpoint, true, 1);
      added.push(record);
    }
    const healthy = members.length - this.#ejected;
    const threshold = this.#options.panicThresholdPercent;
    const panic = isPanic(healthy, members.length, threshold);
    const group = zone === undefined || panic ? undefined : zone.group(members.length, healthy, threshold);
    if (panic !== this.#panic || (group !== undefined && group !== this.#zoneGroup)) this.#rebuild(now);
    else {
      // Same mode and group: a new endpoint is healthy, so a candidate in panic (everyone) and out of
      // it (the healthy ones, of the group under zone preference).
      const joined: EndpointRecord[] = [];
      for (const record of added) {
        if (group !== undefined && !zone!.inGroup(group, record.endpoint)) continue;
        this.#addCandidate(record);
        joined.push(record);
      }
      // In panic every member is a candidate whatever its zone.
      if (group !== undefined) {
        for (const record of regrouped) {
          const wanted = record.ejectedUntil === undefined && zone!.inGroup(group, record.endpoint);
          if (wanted === record.candidate) continue;
          if (wanted) {
            this.#addCandidate(record);
            joined.push(record);
          } else {
            this.#dropCandidate(record);
            removed.push(record);
          }
        }
      }
      this.#setCandidates(joined, removed);
      if (this.#changes.observed) this.#changes.next(this.#snapshot(now));
    }
    if (left.length > 0) this.#left.next(left);
  }

  /** Hands the candidates to the strategy: its incremental method with our array, else a copy. */
  #setCandidates(added: readonly EndpointRecord[] | undefined, removed: readonly EndpointRecord[]): void {
    const strategy = this.#strategy;
    if (strategy.updateCandidates === undefined) strategy.setCandidates(this.#candidates.slice());
    else if (added === undefined) strategy.setCandidates(this.#candidates);
    else strategy.updateCandidates(this.#candidates, added, removed);
  }

  #onSourceEnd(error: unknown): void {
    this.#sourceEnded = true;
    this.#sourceError = error;
    this.#subscription = undefined;
    if (this.#members.length > 0) return;
    const detail = error === undefined ? 'the endpoint stream completed' : 'the endpoint stream failed';
    for (const waiter of [...this.#waiters]) waiter.fail(this.#noEndpoints(0, detail));
  }

  #release(slot: number, generation: number, pickedAt: number, outcome: Outcome): void {
    this.#totals.inFlight -= 1;
    const ok = outcome?.ok === true;
    if (ok) this.#totals.successes += 1;
    else this.#totals.failures += 1;
    const slots = this.#slots;
    // An endpoint that left the set is gone for good (its slot given back, maybe to another one):
    // its late outcomes change nothing.
    if (slots.generation[slot] !== generation) return;
    slots.inFlight[slot]! -= 1;
    const measured = outcome?.latencyMs;
    const given = typeof measured === 'number' && Number.isFinite(measured) && measured >= 0;
    const ewma = slots.ewma;
    if (ok) {
      slots.successes[slot]! += 1;
      this.#outlier?.onSuccess(slots, slot);
      // A given latency is stamped when it was measured, pick + latency: no clock read (~50 ns, a
      // fifth of a pick and release) for the usual success.
      if (given) ewma.observe(slot, measured, pickedAt + measured);
      else {
        const now = this.#clock();
        ewma.observe(slot, Math.max(0, now - pickedAt), now);
      }
      return;
    }
    const now = this.#clock();
    const latency = given ? measured : Math.max(0, now - pickedAt);
    slots.failures[slot]! += 1;
    // A failure is never evidence that the endpoint got faster (fast connection refusals).
    ewma.observe(slot, Math.max(latency, ewma.peek(slot, now)), now);
    if (!this.#outlier || this.#closed) return;
    const record = this.#recordAt[slot]!;
    this.#catchUp(now);
    if (this.#outlier.onFailure(record, now, this.#ejected, this.#members.length)) this.#rebuild(now);
  }

  /** Applies ended ejections; returns the clock reading used. */
  #refresh(): number {
    const now = this.#clock();
    if (!this.#closed) this.#catchUp(now);
    return now;
  }

  /** Applies what the clock passed: ended ejections, then a due success-rate sweep. */
  #catchUp(now: number): void {
    if (now >= this.#nextReturnAt) this.#rebuild(now);
    if (now < this.#nextSweepAt || this.#outlier === undefined) return;
    this.#nextSweepAt = now + this.#outlier.options.intervalMs;
    if (this.#outlier.sweep(this.#members, now, this.#ejected)) this.#rebuild(now);
  }

  /** Recomputes health, panic, zone and the candidates; O(n) plus the strategy's rebuild. */
  #rebuild(now: number): void {
    const healthy: EndpointRecord[] = [];
    let ejected = 0;
    let nextReturnAt = Number.POSITIVE_INFINITY;
    const zone = this.#options.zone && new ZoneCounts(this.#options.zone);
    this.#zoneCounts = zone;
    for (const record of this.#members) {
      this.#outlier?.maybeReturn(record, now);
      record.candidate = false;
      zone?.count(record.endpoint, record.ejectedUntil === undefined, 1);
      if (record.ejectedUntil === undefined) healthy.push(record);
      else {
        ejected += 1;
        if (record.ejectedUntil < nextReturnAt) nextReturnAt = record.ejectedUntil;
      }
    }
    this.#ejected = ejected;
    this.#nextReturnAt = nextReturnAt;
    const threshold = this.#options.panicThresholdPercent;
    this.#panic = isPanic(healthy.length, this.#members.length, threshold);
    let candidates: EndpointRecord[];
    if (this.#panic) {
      candidates = this.#members.slice();
      this.#zoneRouting = 'off';
    } else if (zone) {
      const group = zone.group(this.#members.length, healthy.length, threshold);
      this.#zoneGroup = group;
      candidates =
        group === 'spill' ? healthy : healthy.filter((record) => zone.inGroup(group, record.endpoint));
      this.#zoneRouting = group === 'spill' ? 'spill' : 'local';
    } else {
      candidates = healthy;
      this.#zoneRouting = 'off';
    }
    const candidateSlots = this.#slots.candidateSlots;
    for (let i = 0; i < candidates.length; i++) {
      const record = candidates[i]!;
      record.candidate = true;
      record.candidateIndex = i;
      candidateSlots[i] = record.slot;
    }
    this.#candidates = candidates;
    this.#setCandidates(undefined, []);
    if (this.#changes.observed) this.#changes.next(this.#snapshot(now));
  }

  #service(): string | undefined {
    if (this.#set) return `${this.#set.namespace}/${this.#set.service}`;
    return this.#options.name ?? (this.#source && `${this.#source.namespace}/${this.#source.service}`);
  }

  #noEndpoints(waitedMs: number, detail: string | undefined): NoEndpointsError {
    let state: string;
    if (this.#set === undefined) state = 'no endpoint set has arrived yet';
    else if (this.#members.length === 0) state = 'the endpoint set is empty';
    else state = 'every endpoint is ejected and panic mode is off';
    const health = this.#health;
    const watchError =
      health !== undefined && (health.state === 'retrying' || health.state === 'resuming')
        ? health.error
        : undefined;
    const cause = this.#sourceError ?? watchError;
    // What the watch knows and the balancer does not: why nothing came, or why the set is empty.
    let why = '';
    if (this.#sourceError === undefined && watchError !== undefined) {
      const grant = watchError instanceof KubeApiError ? rbacGrantFor(watchError) : undefined;
      why = `; the watch is ${health?.state}: ${messageOf(watchError)}${grant ? `. To fix it, ${grant.advice}` : ''}`;
    } else if (health?.state === 'synced' && health.notice !== undefined && this.#members.length === 0)
      why = `; ${health.notice}`;
    return new NoEndpointsError(
      this.#service(),
      waitedMs,
      `${detail === undefined ? state : `${state} (${detail})`}${why}`,
      cause === undefined ? undefined : { cause },
    );
  }

  #statsOf(record: EndpointRecord, now: number): EndpointStats {
    return {
      key: record.key,
      address: record.endpoint.address,
      port: record.endpoint.port,
      zone: record.endpoint.zone,
      inFlight: record.inFlight,
      picks: record.picks,
      successes: record.successes,
      failures: record.failures,
      consecutiveFailures: record.consecutiveFailures,
      ejected: record.ejectedUntil !== undefined,
      ejectedUntil: record.ejectedUntil,
      ejectionCount: record.ejectionCount,
      ewmaLatencyMs: this.#slots.ewma.peek(record.slot, now),
      weight: slowStartWeight(this.#options.slowStart, record.slowStartSince, now),
      candidate: record.candidate,
      addedAt: record.addedAt,
    };
  }

  #snapshot(now: number): BalancerStats {
    const endpoints = this.#members.map((record) => this.#statsOf(record, now));
    return {
      namespace: this.#set?.namespace,
      service: this.#set?.service,
      strategy: this.#strategy.name,
      at: now,
      closed: this.#closed,
      panic: this.#panic,
      zoneRouting: this.#zoneRouting,
      endpoints,
      totals: {
        endpoints: this.#members.length,
        healthy: this.#members.length - this.#ejected,
        ejected: this.#ejected,
        candidates: this.#candidates.length,
        inFlight: this.#totals.inFlight,
        picks: this.#totals.picks,
        successes: this.#totals.successes,
        failures: this.#totals.failures,
      },
    };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
