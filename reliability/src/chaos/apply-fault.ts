/** Carries out one scheduled fault on the fake apiserver and the pods (the only I/O of a fault). */
import { writeFileSync } from 'node:fs';
import type { FakeApiServer, LoopbackPods, RecordedRequest } from '@endpoint-watch/testing';
import type { Interval } from '../checks/intervals.js';
import type { Fault, Target } from './schedule.js';

/** A request fault that found no matching request within this long lapses (no rule lingers for ever). */
const RULE_LIFETIME_MS = 10_000;

/** What the checkers need to know about the faults as they really happened. */
export interface FaultLog {
  /** Watch stalls and byte drips: open watches delivered nothing. */
  readonly stalls: Interval[];
  /** Restart down times: connections were refused. */
  readonly downtimes: Interval[];
  /** Pods that were dead. */
  readonly deaths: Array<Interval & { readonly address: string }>;
  /** When a malformed or oversized event went to every open watch. */
  readonly badEvents: number[];
}

export interface FaultContext {
  readonly server: FakeApiServer;
  readonly pods: LoopbackPods | undefined;
  readonly tokenFile: string;
  readonly log: FaultLog;
  /** Token rotations so far (names the next token). */
  rotations: number;
  /** Restarts still going (awaited before the end of the run). */
  readonly restarts: Set<Promise<void>>;
}

const isResource = (r: RecordedRequest) => r.path.includes('/endpointslices');

function matcher(target: Target): (r: RecordedRequest) => boolean {
  const expiresAt = Date.now() + RULE_LIFETIME_MS;
  return (r) =>
    Date.now() < expiresAt && isResource(r) && (target === 'any' || r.watch === (target === 'watch'));
}

/** Starts `fault`; returns what ends it (for faults that last), to be called once. */
export function startFault(fault: Fault, ctx: FaultContext): (() => void) | undefined {
  const { server } = ctx;
  const faults = server.faults;
  switch (fault.kind) {
    case 'cut':
      faults.cutWatches({ midEvent: fault.midEvent });
      return undefined;
    case 'chunking':
      faults.splitWrites({ seed: fault.seed, maxChunkBytes: fault.maxChunkBytes });
      return () => faults.splitWrites(false);
    case 'drip': {
      faults.splitWrites({ seed: fault.seed, maxChunkBytes: fault.maxChunkBytes, delayMs: fault.delayMs });
      const stall = { from: Date.now(), to: Number.POSITIVE_INFINITY };
      ctx.log.stalls.push(stall);
      return () => {
        faults.splitWrites(false);
        stall.to = Date.now();
      };
    }
    case 'expire':
      faults.expireWatches();
      return undefined;
    case 'compact':
      server.compact();
      return undefined;
    case 'status':
      faults.failNext(fault.count, fault.code, {
        ...(fault.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: fault.retryAfterSeconds }),
        match: matcher(fault.target),
      });
      return undefined;
    case 'hugeErrorBody':
      faults.failNext(1, fault.code, { bodyBytes: fault.bodyBytes, match: matcher(fault.target) });
      return undefined;
    case 'stallHeaders': {
      let active = true;
      const match = matcher(fault.target);
      faults.stallHeaders(fault.count, { match: (r) => active && match(r) });
      return () => {
        active = false;
        faults.releaseStalls();
      };
    }
    case 'stallListBody': {
      let active = true;
      faults.stallListBodies(1, { bytes: fault.bytes, match: (r) => active && isResource(r) });
      return () => {
        active = false;
        faults.releaseStalls();
      };
    }
    case 'stallWatches': {
      faults.stallWatches(true);
      const stall = { from: Date.now(), to: Number.POSITIVE_INFINITY };
      ctx.log.stalls.push(stall);
      return () => {
        faults.stallWatches(false);
        stall.to = Date.now();
      };
    }
    case 'restart': {
      const down = { from: Date.now(), to: Number.POSITIVE_INFINITY };
      if (fault.downMs > 0) ctx.log.downtimes.push(down);
      const restarting = faults.restart({ downMs: fault.downMs }).finally(() => {
        down.to = Date.now();
        ctx.restarts.delete(restarting);
      });
      ctx.restarts.add(restarting);
      return undefined;
    }
    case 'rotateToken': {
      ctx.rotations += 1;
      const token = `token-${ctx.rotations}`;
      // Server first: 401s until the new token is in the file. File first: the normal rotation.
      if (fault.serverFirst) server.setToken(token);
      else writeFileSync(ctx.tokenFile, token);
      return () => {
        if (fault.serverFirst) writeFileSync(ctx.tokenFile, token);
        else server.setToken(token);
      };
    }
    case 'malformed':
      ctx.log.badEvents.push(Date.now());
      faults.sendMalformedLine(fault.line);
      return undefined;
    case 'oversized':
      ctx.log.badEvents.push(Date.now());
      faults.sendOversizedEvent(fault.bytes);
      return undefined;
    case 'podKill': {
      const pod = ctx.pods?.pods[fault.pod];
      if (pod === undefined) return undefined;
      const death = { address: pod.address, from: Date.now(), to: Number.POSITIVE_INFINITY };
      ctx.log.deaths.push(death);
      void pod.kill();
      return () => {
        void pod.restart().then(() => {
          death.to = Date.now();
        });
      };
    }
  }
}
