// The detection rule an operator runs: DEFAULT_DETECTION_RULE with overrides from a JSON document
// (VIGIL_DETECTION_RULE: a file path, or the JSON itself), validated once at boot. The scanner,
// the gateway's check and retro-matching all take the rule loaded here, so a list update finds
// what a scan would. `npm run eval -- --rule FILE` measures a candidate on the corpus first.

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DEFAULT_DETECTION_RULE, type DetectionRule } from './decide.ts';

// PDQ and blockhash caps in bits. Past 64 a 256-bit hash is halfway to an unrelated image's.
const bits = z.number().int().min(0).max(64);
const cap = z.object({ beyond: bits, max: bits }).strict();

// A kept share names its query `uncrop-N` (N = percent cropped, 1-50); match_hits admits two digits.
const keptShare = z
  .number()
  .min(0.5)
  .max(0.99)
  .refine((kept) => Math.abs(kept * 100 - Math.round(kept * 100)) < 1e-9, 'a kept share is a whole percentage (0.95, not 0.955)');

const distinct = <T extends z.ZodTypeAny>(item: T, max: number) =>
  z
    .array(item)
    .max(max)
    .refine((values) => new Set(values).size === values.length, 'listed twice');

/** The overridable fields: every one optional, none unknown (a misspelt key is an error, not a no-op). */
export const DetectionRuleOverrides = z
  .object({
    region: z.boolean(),
    uncrop: distinct(keptShare, 6),
    // Factors the hashing computes as "hashed as if N times larger"; the eval measures 2-4.
    upscale: distinct(z.number().int().min(2).max(4), 3),
    overlay: z.boolean(),
    extraMax: z
      .object({
        region: z.object({ pdq: bits, blockhash: bits }).strict().partial(),
        uncrop: cap.partial(),
        upscale: bits,
        overlay: cap.partial(),
        watermark: cap.partial(),
      })
      .strict()
      .partial(),
    corroboration: z
      .object({
        // Also the PDQ search radius past the threshold: the exact index slows as it grows.
        pdq: z.number().int().min(0).max(32),
        blockhash: bits,
        box: z.object({ pdq: bits, blockhash: bits }).strict().partial(),
        blockhashWeight: z.number().min(0).max(16),
        weightedMax: z.number().min(0).max(128),
      })
      .strict()
      .partial(),
    lowQualityPdqMax: z.number().int().min(-1).max(64),
  })
  .strict()
  .partial();
export type DetectionRuleOverrides = z.infer<typeof DetectionRuleOverrides>;

export interface LoadedDetectionRule {
  rule: DetectionRule;
  /** `default`, or where the overrides came from (a path, or `inline`). */
  source: string;
  /** Short digest of the effective rule: logged at boot, so a verdict can be tied to the rule it ran under. */
  fingerprint: string;
}

/** DEFAULT_DETECTION_RULE with `value`'s overrides; throws one error listing every problem. */
export function detectionRuleFrom(value: unknown): DetectionRule {
  const parsed = DetectionRuleOverrides.safeParse(value);
  if (!parsed.success) {
    throw new Error(`detection rule: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; ')}`);
  }
  const o = parsed.data;
  const d = DEFAULT_DETECTION_RULE;
  const extra = o.extraMax ?? {};
  const { box, ...corroboration } = o.corroboration ?? {};
  return deepFreeze({
    region: o.region ?? d.region,
    uncrop: [...(o.uncrop ?? d.uncrop)].sort((a, b) => b - a),
    upscale: [...(o.upscale ?? d.upscale)].sort((a, b) => a - b),
    overlay: o.overlay ?? d.overlay,
    extraMax: {
      region: over(d.extraMax.region, extra.region),
      uncrop: over(d.extraMax.uncrop, extra.uncrop),
      upscale: extra.upscale ?? d.extraMax.upscale,
      overlay: over(d.extraMax.overlay, extra.overlay),
      watermark: over(d.extraMax.watermark, extra.watermark),
    },
    corroboration: { ...over(d.corroboration, corroboration), box: over(d.corroboration.box, box) },
    lowQualityPdqMax: o.lowQualityPdqMax ?? d.lowQualityPdqMax,
  });
}

/**
 * The rule VIGIL_DETECTION_RULE names: unset, the default; text starting with `{`, the overrides
 * themselves; anything else, the path of a JSON file holding them.
 */
export function loadDetectionRule(setting: string | undefined, readFile: (path: string) => string): LoadedDetectionRule {
  const value = setting?.trim();
  if (!value) return { rule: DEFAULT_DETECTION_RULE, source: 'default', fingerprint: ruleFingerprint(DEFAULT_DETECTION_RULE) };
  const inline = value.startsWith('{');
  const source = inline ? 'inline' : value;
  let text: string;
  try {
    text = inline ? value : readFile(value);
  } catch (err) {
    throw new Error(`detection rule: cannot read ${value}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`detection rule (${source}): not JSON: ${(err as Error).message}`);
  }
  const rule = detectionRuleFrom(json);
  return { rule, source, fingerprint: ruleFingerprint(rule) };
}

/** `r-` and 12 hex digits of the SHA-256 of the rule's canonical JSON (keys sorted). */
export function ruleFingerprint(rule: DetectionRule): string {
  return `r-${createHash('sha256').update(canonicalJson(rule)).digest('hex').slice(0, 12)}`;
}

/** The fields that differ from DEFAULT_DETECTION_RULE, by dotted path: what a boot log shows. */
export function ruleChanges(rule: DetectionRule): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (a: unknown, b: unknown, path: string) => {
    if (isPlainObject(a) && isPlainObject(b)) {
      for (const key of Object.keys(a)) walk(a[key], b[key], path ? `${path}.${key}` : key);
    } else if (canonicalJson(a) !== canonicalJson(b)) {
      out[path] = a;
    }
  };
  walk(rule, DEFAULT_DETECTION_RULE, '');
  return out;
}

/** `defaults` with the fields `overrides` sets (an absent field keeps its default). */
function over<T extends object>(defaults: T, overrides: { [K in keyof T]?: T[K] | undefined } | undefined): T {
  const set = Object.entries(overrides ?? {}).filter(([, value]) => value !== undefined);
  return { ...defaults, ...Object.fromEntries(set) };
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
