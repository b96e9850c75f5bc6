/**
 * Hand-written twins of the zod schemas that every EndpointSlice update runs through. Each one only
 * decides, with exactly the acceptance rules of its schema (property tests keep them in agreement);
 * when it says no, the zod schema runs to produce the error message.
 */
import { isObject, SLICE_LIMITS } from './endpoint-fields.js';
import { isPortNumber } from './ports.js';

/**
 * The twin of `SliceEndpointSchema`: a relist of a 10 000-endpoint Service validates every entry,
 * and zod costs several microseconds per entry there.
 */
export function isValidSliceEndpoint(raw: unknown): boolean {
  if (!isObject(raw)) return false;
  const addresses = raw.addresses;
  if (!Array.isArray(addresses) || addresses.length === 0 || addresses.length > SLICE_LIMITS.addresses)
    return false;
  for (const address of addresses) if (typeof address !== 'string') return false;
  const conditions = raw.conditions;
  if (conditions != null) {
    if (!isObject(conditions)) return false;
    if (!optionalBoolean(conditions.ready) || !optionalBoolean(conditions.serving)) return false;
    if (!optionalBoolean(conditions.terminating)) return false;
  }
  if (!optionalString(raw.hostname) || !optionalString(raw.nodeName) || !optionalString(raw.zone))
    return false;
  const hints = raw.hints;
  if (hints != null) {
    if (!isObject(hints) || !optionalNameList(hints.forZones) || !optionalNameList(hints.forNodes))
      return false;
  }
  const targetRef = raw.targetRef;
  if (targetRef != null) {
    if (!isObject(targetRef)) return false;
    if (!optionalString(targetRef.kind) || !optionalString(targetRef.namespace)) return false;
    if (!optionalString(targetRef.name) || !optionalString(targetRef.uid)) return false;
  }
  return true;
}

/** The twin of `SliceShellSchema`: metadata, addressType, endpoints (an array, not looked into), ports. */
export function isValidSliceShell(raw: unknown): boolean {
  if (!isObject(raw)) return false;
  const metadata = raw.metadata;
  if (!isObject(metadata)) return false;
  if (typeof metadata.name !== 'string' || metadata.name === '' || !optionalString(metadata.namespace))
    return false;
  if (!optionalStringRecord(metadata.labels)) return false;
  const addressType = raw.addressType;
  if (addressType !== 'IPv4' && addressType !== 'IPv6' && addressType !== 'FQDN') return false;
  const endpoints = raw.endpoints;
  if (endpoints != null && (!Array.isArray(endpoints) || endpoints.length > SLICE_LIMITS.endpoints))
    return false;
  const ports = raw.ports;
  if (ports == null) return true;
  if (!Array.isArray(ports) || ports.length > SLICE_LIMITS.ports) return false;
  for (const port of ports) {
    if (!isObject(port) || !optionalString(port.name) || !optionalString(port.protocol)) return false;
    if (!optionalString(port.appProtocol)) return false;
    if (port.port != null && !isPortNumber(port.port)) return false;
  }
  return true;
}

function optionalStringRecord(value: unknown): boolean {
  if (value == null) return true;
  if (!isObject(value)) return false;
  for (const key in value) {
    // zod's record skips a `__proto__` key, whatever its value: so does its twin.
    if (key !== '__proto__' && typeof value[key] !== 'string') return false;
  }
  return true;
}

function optionalBoolean(value: unknown): boolean {
  return value == null || typeof value === 'boolean';
}

function optionalString(value: unknown): boolean {
  return value == null || typeof value === 'string';
}

function optionalNameList(value: unknown): boolean {
  if (value == null) return true;
  if (!Array.isArray(value)) return false;
  for (const item of value) if (!isObject(item) || typeof item.name !== 'string') return false;
  return true;
}
