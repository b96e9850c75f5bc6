/**
 * Port selection shared by both aggregators. A "port group" is the unit that carries one port list:
 * an EndpointSlice, or one subset of a v1 Endpoints object. Ports are always matched per group
 * because a named Service port may map to different numbers on different pods (separate slices).
 */
import { z } from 'zod';
import type { ServicePortRef } from './types.js';

/** One entry of a slice's / subset's `ports`, with API defaults applied. */
export interface ParsedPort {
  /** '' for an unnamed port (API default). */
  readonly name: string;
  /** undefined when the API object leaves it unset, which means "all ports": such a port yields no endpoints. */
  readonly port: number | undefined;
  /** 'TCP' when unset (API default). */
  readonly protocol: string;
  readonly appProtocol: string | undefined;
}

/** The API's validation of a port number: a number no connection can use is no endpoint. */
const PORT_RANGE = { min: 1, max: 65_535 } as const;

const portNumber = z.number().int().min(PORT_RANGE.min).max(PORT_RANGE.max);

/** What `portNumber` accepts, checked by hand (the guards' twin of it). */
export function isPortNumber(value: unknown): boolean {
  return (
    Number.isInteger(value) && (value as number) >= PORT_RANGE.min && (value as number) <= PORT_RANGE.max
  );
}

/** discovery.k8s.io/v1 EndpointPort. */
export const SlicePortSchema = z.object({
  name: z.string().nullish(),
  port: portNumber.nullish(),
  protocol: z.string().nullish(),
  appProtocol: z.string().nullish(),
});

/** core/v1 EndpointPort: the number is required there. */
export const V1PortSchema = SlicePortSchema.extend({ port: portNumber });

type RawPort = z.output<typeof SlicePortSchema>;

const NO_PORTS: readonly ParsedPort[] = Object.freeze([]);

export function toParsedPorts(ports: readonly RawPort[] | null | undefined): readonly ParsedPort[] {
  if (ports == null || ports.length === 0) return NO_PORTS;
  return ports.map((p) => ({
    name: p.name ?? '',
    port: p.port ?? undefined,
    protocol: p.protocol ?? 'TCP',
    appProtocol: p.appProtocol ?? undefined,
  }));
}

export function samePorts(a: readonly ParsedPort[], b: readonly ParsedPort[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (
      x.name !== y.name ||
      x.port !== y.port ||
      x.protocol !== y.protocol ||
      x.appProtocol !== y.appProtocol
    ) {
      return false;
    }
  }
  return true;
}

/**
 * What the aggregator follows: a port name (given as a string, or the only name the groups declare),
 * a port number (given as a number: matches a group port whose `port` equals it, whatever its name),
 * or nothing (no group declares a port, or the choice is ambiguous).
 */
export type PortSelector =
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'number'; readonly port: number }
  | { readonly kind: 'none' };

const NONE: PortSelector = Object.freeze({ kind: 'none' });

/** The selector fixed by the `port` option, or undefined when it is chosen from the groups' port names. */
export function fixedSelector(port: string | number | undefined): PortSelector | undefined {
  if (port === undefined) return undefined;
  return typeof port === 'string' ? { kind: 'name', name: port } : { kind: 'number', port };
}

/** Without a `port` option: the only declared port name, if there is exactly one. */
export function selectorFromNames(declared: ReadonlyMap<string, number>): PortSelector {
  if (declared.size !== 1) return NONE;
  const [name] = declared.keys();
  return { kind: 'name', name: name! };
}

export function sameSelector(a: PortSelector, b: PortSelector): boolean {
  if (a.kind === 'name') return b.kind === 'name' && a.name === b.name;
  if (a.kind === 'number') return b.kind === 'number' && a.port === b.port;
  return b.kind === 'none';
}

export function matchPort(ports: readonly ParsedPort[], sel: PortSelector): ParsedPort | undefined {
  if (sel.kind === 'none') return undefined;
  for (const p of ports) {
    if (sel.kind === 'name' ? p.name === sel.name : p.port === sel.port) return p;
  }
  return undefined;
}

/** Adds (delta 1) or removes (delta -1) one group's port names in a name -> group count multiset. */
export function countPortNames(
  declared: Map<string, number>,
  ports: readonly ParsedPort[],
  delta: 1 | -1,
): void {
  for (const p of ports) {
    const n = (declared.get(p.name) ?? 0) + delta;
    if (n > 0) declared.set(p.name, n);
    else declared.delete(p.name);
  }
}

/**
 * Human-readable port list, one item per name, sorted by name: `http (8080/TCP, 8081/TCP)`, with
 * `(unnamed)` for '' and `*` for an unset number. Only ports accepted by `accept` are listed.
 */
export function describePorts(
  portLists: Iterable<readonly ParsedPort[]>,
  accept: (p: ParsedPort) => boolean = () => true,
): string[] {
  const byName = new Map<string, Set<string>>();
  for (const ports of portLists) {
    for (const p of ports) {
      if (!accept(p)) continue;
      let numbers = byName.get(p.name);
      if (numbers === undefined) {
        numbers = new Set();
        byName.set(p.name, numbers);
      }
      numbers.add(`${p.port ?? '*'}/${p.protocol}`);
    }
  }
  return [...byName.keys()]
    .sort()
    .map((name) => `${name === '' ? '(unnamed)' : name} (${[...byName.get(name)!].join(', ')})`);
}

/** The frozen `EndpointSet.port` for a matched port; `previous` is returned when it says the same. */
export function toPortRef(p: ParsedPort, previous: ServicePortRef | undefined): ServicePortRef {
  if (
    previous !== undefined &&
    previous.name === p.name &&
    previous.protocol === p.protocol &&
    previous.appProtocol === p.appProtocol
  ) {
    return previous;
  }
  return Object.freeze({ name: p.name, protocol: p.protocol, appProtocol: p.appProtocol });
}
