/** The text of anything thrown, for logs and statuses. */
export function errorMessage (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
