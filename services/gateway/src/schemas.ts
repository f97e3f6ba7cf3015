// The wire contract, as zod schemas: requests are validated with them in the routes, and the
// OpenAPI document is generated from the same schemas, so the docs cannot drift from what is
// enforced. Response schemas type the view mappers (views.ts). Nothing here describes list
// contents: a match names its list, never the entry.

import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './errors.ts';

export const SOURCES = ['stream', 'workers', 'gateway'] as const;
export const VERDICTS = ['allow', 'block', 'review', 'unscannable'] as const;
export const ACTIONS = ['block', 'quarantine', 'review', 'allow'] as const;

const tenantId = z.string().min(1).max(256).describe('Tenant the check is for; the token must be allowed to act for it');
const bucket = z.string().min(1).max(255);
// S3 caps keys at 1024 bytes; the character count is a cheap first bound.
const key = z.string().min(1).max(1024);
const versionId = z.string().min(1).max(1024);
const uploadId = z.string().min(1).max(256).describe("The product's own id for the upload");
const accountId = z.string().min(1).max(256).describe('Uploader account id');
const source = z.enum(SOURCES).default('gateway').describe('The hosting product asking');
const ip = z.union([z.ipv4(), z.ipv6()]);
const userAgent = z.string().min(1).max(1024);

export const objectLocationSchema = z.strictObject({ bucket, key, versionId: versionId.optional() });

export const uploaderSchema = z.strictObject({ accountId, ip: ip.optional(), userAgent: userAgent.optional() });

/** Raw-body check: metadata in the query string. */
export const rawCheckQuerySchema = z
  .strictObject({
    tenant: tenantId,
    bucket: bucket.optional().describe('Bucket the product will publish the bytes to (with key)'),
    key: key.optional().describe('Key the product will publish the bytes under (with bucket)'),
    versionId: versionId.optional(),
    uploadId: uploadId.optional(),
    source,
    account: accountId.optional(),
  })
  .superRefine((query, ctx) => {
    if ((query.bucket === undefined) !== (query.key === undefined)) {
      ctx.addIssue({ code: 'custom', path: [query.bucket === undefined ? 'bucket' : 'key'], message: 'bucket and key go together' });
    }
    if (query.versionId !== undefined && query.key === undefined) {
      ctx.addIssue({ code: 'custom', path: ['versionId'], message: 'versionId needs bucket and key' });
    }
  });

export const UPLOADER_IP_HEADER = 'x-vigil-uploader-ip';
export const UPLOADER_AGENT_HEADER = 'x-vigil-uploader-agent';

/** Raw-body check: optional uploader details in headers (other headers pass through). */
export const uploaderHeadersSchema = z.object({
  [UPLOADER_IP_HEADER]: ip.optional().describe('Uploader IP address (needs the account query parameter)'),
  [UPLOADER_AGENT_HEADER]: userAgent.optional().describe('Uploader user agent (needs the account query parameter)'),
});

/** Multipart check: the `metadata` field's JSON. */
export const multipartMetadataSchema = z.strictObject({
  tenant: tenantId,
  object: objectLocationSchema.optional().describe('Where the product will publish the bytes'),
  uploader: uploaderSchema.optional(),
  uploadId: uploadId.optional(),
  source,
});

/** JSON check: a stored object to fetch and check instead of bytes. */
export const objectCheckBodySchema = multipartMetadataSchema.extend({
  object: objectLocationSchema.describe('The stored object to check'),
});

function hex(digits: number) {
  return z
    .string()
    .regex(new RegExp(`^[0-9a-fA-F]{${digits}}$`))
    .transform((value) => value.toLowerCase());
}

export const lookupQuerySchema = z
  .strictObject({
    pdq: hex(64).optional(),
    blockhash: hex(64).optional(),
    md5: hex(32).optional(),
    sha1: hex(40).optional(),
    sha256: hex(64).optional(),
  })
  .refine((query) => Object.values(query).some((value) => value !== undefined), {
    message: 'give at least one hash',
  });

export function lookupBodySchema(maxHashes: number) {
  return z.strictObject({ hashes: z.array(lookupQuerySchema).min(1).max(maxHashes) });
}

export const scanParamsSchema = z.strictObject({ id: z.string().min(1).max(256) });

// Responses.

export const matchSchema = z.object({
  list: z.string(),
  listVersion: z.int(),
  algorithm: z.string(),
  distance: z.int(),
  action: z.enum(ACTIONS),
});

export const variantMatchSchema = matchSchema.extend({
  variant: z.string().describe('Which transform of the query matched (identity, rotations, flips)'),
});

export const checkResponseSchema = z.object({
  verdict: z.enum(VERDICTS),
  scanId: z.string(),
  matches: z.array(matchSchema),
  reason: z.string().optional().describe('Why the content was unscannable'),
  reused: z.boolean().describe('Answered from hashes stored for the same bytes'),
  timings: z.object({
    fetchMs: z.number().optional(),
    hashMs: z.number(),
    matchMs: z.number(),
    recordMs: z.number(),
    totalMs: z.number(),
  }),
});

export const lookupResponseSchema = z.object({
  results: z.array(z.object({ matches: z.array(variantMatchSchema) })).describe('One per query, in query order'),
});

export const scanResponseSchema = z.object({
  scanId: z.string(),
  tenantId: z.string(),
  object: objectLocationSchema,
  verdict: z.enum(VERDICTS),
  reason: z.string().optional(),
  blocked: z.boolean(),
  review: z.boolean(),
  mode: z.enum(['fast', 'reference']),
  lists: z.array(z.object({ listId: z.string(), version: z.int() })).describe('Every list version consulted'),
  matches: z.array(variantMatchSchema),
  scannedAt: z.string(),
});

export const errorResponseSchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).describe('Stable; branch on this, not the message'),
    message: z.string(),
    requestId: z.string().describe('Also in the x-request-id header; quote it when reporting a problem'),
    issues: z
      .array(z.object({ path: z.array(z.union([z.string(), z.int()])), code: z.string(), message: z.string() }))
      .optional(),
  }),
});

export const healthResponseSchema = z.object({ status: z.literal('ok') });

export const readyResponseSchema = z.object({
  ready: z.literal(true),
  lists: z.array(z.object({ listId: z.string(), version: z.int(), entries: z.int() })),
});

export const notReadyResponseSchema = z.object({
  ready: z.literal(false),
  reason: z.string(),
  error: errorResponseSchema.shape.error,
});

export type CheckResponse = z.output<typeof checkResponseSchema>;
export type LookupResponse = z.output<typeof lookupResponseSchema>;
export type ScanResponse = z.output<typeof scanResponseSchema>;
export type ReadyResponse = z.output<typeof readyResponseSchema>;
