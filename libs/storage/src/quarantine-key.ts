// Where a match's quarantined copy lives in the quarantine bucket. Deterministic from the match,
// so whoever holds the bytes first (the actioner copying a stored object, or the gateway keeping
// an upload it blocked before it was ever stored) writes the one copy the other then finds.

/** `<tenant>/<matchId>`: one copy per match, grouped by tenant for access policies. */
export function quarantineKey(tenantId: string, matchId: string): string {
  return `${tenantId}/${matchId}`;
}
