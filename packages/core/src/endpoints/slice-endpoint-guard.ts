import { isObject } from './endpoint-fields.js';

/**
 * The hot-path twin of `SliceEndpointSchema`: the same acceptance rules, checked by hand, because
 * a relist of a 10 000-endpoint Service validates every entry and zod costs several microseconds
 * per entry there. It only decides; when it says no, the zod schema runs to produce the error
 * message. A property test keeps the two in agreement.
 */
export function isValidSliceEndpoint(raw: unknown): boolean {
  if (!isObject(raw)) return false;
  const addresses = raw.addresses;
  if (!Array.isArray(addresses) || addresses.length === 0) return false;
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
