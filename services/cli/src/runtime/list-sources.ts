// The list sources the hashlists role keeps current, from VIGIL_LIST_SOURCES (JSON):
//   [{"list":"ncmec-md5","from":"ncmec","algo":"md5","intervalMinutes":60},
//    {"list":"partner-pdq","from":"url:https://partner.example/list.csv","algo":"pdq","format":"plain"}]
// Parsed once at boot; one error lists every problem. Exchange credentials stay in their own
// variables (see commands/sync.ts), never in this JSON.

import { z } from 'zod';
import { LIST_NAME } from '@vigil/lists';
import { LIST_ACTIONS, LIST_ALGORITHMS } from '@vigil/matching';
import type { ScheduledSource } from '@vigil/hashlists';
import { sourceFor } from '../commands/sync.ts';

const Spec = z.array(
  z.strictObject({
    list: z.string().regex(LIST_NAME),
    from: z.string().min(1),
    algo: z.enum(LIST_ALGORITHMS).optional(),
    format: z.enum(['plain', 'threatexchange-pdq', 'ncmec-csv']).default('plain'),
    intervalMinutes: z.number().positive().default(60),
    threshold: z.number().int().min(0).max(256).optional(),
    action: z.enum(LIST_ACTIONS).optional(),
  }),
);

export function listSourcesFrom(env: NodeJS.ProcessEnv): ScheduledSource[] {
  if (!env.VIGIL_LIST_SOURCES) return [];
  let value: unknown;
  try {
    value = JSON.parse(env.VIGIL_LIST_SOURCES);
  } catch {
    throw new Error('VIGIL_LIST_SOURCES is not valid JSON (expected an array of sources)');
  }
  const parsed = Spec.safeParse(value);
  if (!parsed.success) throw new Error(`VIGIL_LIST_SOURCES: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const problems: string[] = [];
  const scheduled: ScheduledSource[] = [];
  for (const [i, spec] of parsed.data.entries()) {
    const source = sourceFor(spec.list, { from: spec.from, format: spec.format, ...(spec.algo && { algo: spec.algo }) }, env);
    if ('error' in source) problems.push(`${i}: ${source.error}`);
    else {
      scheduled.push({
        source,
        target: { name: spec.list, ...(spec.threshold !== undefined && { threshold: spec.threshold }), ...(spec.action && { action: spec.action }) },
        intervalMs: spec.intervalMinutes * 60_000,
      });
    }
  }
  if (problems.length > 0) throw new Error(`VIGIL_LIST_SOURCES: ${problems.join('; ')}`);
  return scheduled;
}

