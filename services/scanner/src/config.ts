// The scanner's configuration, parsed once at boot from the environment (zod): limits, lane
// concurrency and the unscannable policy per source. One error lists every problem.

import { z } from 'zod';
import type { UnscannablePolicy } from './decide.ts';

const policy = z.enum(['block', 'review']);

export const ScannerConfig = z.object({
  /** Largest object fetched and hashed, bytes (default 64 MiB). */
  maxBytes: z.coerce.number().int().positive().default(64 * 1024 * 1024),
  fetchTimeoutMs: z.coerce.number().int().positive().default(30_000),
  /** Handlers in flight per partition: live uploads, bulk rescans. */
  liveConcurrency: z.coerce.number().int().positive().default(8),
  bulkConcurrency: z.coerce.number().int().positive().default(2),
  /**
   * What an unscannable object gets, per source: `block` (fail-closed: the default for every
   * product, since an attacker controls whether a file decodes) or `review` (pass, flagged).
   */
  unscannable: z.record(z.string(), policy).default({}),
  unscannableDefault: policy.default('block'),
  /** How often scanners look for new list versions (plus jitter), ms. */
  listRefreshMs: z.coerce.number().int().positive().default(2_000),
});
export type ScannerConfig = z.infer<typeof ScannerConfig>;

/** VIGIL_SCANNER_MAX_BYTES, ..., VIGIL_UNSCANNABLE_POLICY="stream=block,workers=review,default=block". */
export function loadScannerConfig(env: NodeJS.ProcessEnv): ScannerConfig {
  const perSource: Record<string, string> = {};
  let unscannableDefault: string | undefined;
  for (const pair of (env.VIGIL_UNSCANNABLE_POLICY ?? '').split(',').filter(Boolean)) {
    const [source, value] = pair.split('=').map((s) => s.trim());
    if (source === 'default') unscannableDefault = value;
    else if (source) perSource[source] = value ?? '';
  }
  const parsed = ScannerConfig.safeParse({
    maxBytes: env.VIGIL_SCANNER_MAX_BYTES,
    fetchTimeoutMs: env.VIGIL_SCANNER_FETCH_TIMEOUT_MS,
    liveConcurrency: env.VIGIL_SCANNER_LIVE_CONCURRENCY,
    bulkConcurrency: env.VIGIL_SCANNER_BULK_CONCURRENCY,
    unscannable: perSource,
    unscannableDefault,
    listRefreshMs: env.VIGIL_LIST_REFRESH_MS,
  });
  if (!parsed.success) {
    throw new Error(`scanner configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

export function unscannablePolicy(config: Pick<ScannerConfig, 'unscannable' | 'unscannableDefault'>): (source: string) => UnscannablePolicy {
  return (source) => config.unscannable[source] ?? config.unscannableDefault;
}
