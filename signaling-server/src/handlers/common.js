// Shared helper for building relayed payloads.

/**
 * Copy the listed fields from `value` onto `out` when they are present, so
 * absent optional fields stay absent on the wire (not `null`).
 */
export function withOptional(out, value, ...keys) {
  for (const k of keys) if (value[k] !== undefined) out[k] = value[k];
  return out;
}
