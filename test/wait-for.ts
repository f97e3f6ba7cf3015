// Polls `probe` until it returns something truthy; fails naming what it waited for. With
// `tolerateErrors`, a probe that throws (a server not listening yet) counts as "not yet".
export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs: number,
  what: string,
  { tolerateErrors = false, intervalMs = 100 }: { tolerateErrors?: boolean; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await (tolerateErrors ? probe().catch(() => null) : probe());
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
