/** A JSON object (not an array, not null): what `params`, `_meta` and results are read as. */
export function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
