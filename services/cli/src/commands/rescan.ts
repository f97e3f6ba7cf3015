// `vigil rescan --source s3://bucket/prefix | --all [--rate N]`: announces stored objects for a
// rescan on the bulk lane (when the hashing changed, or content was never hashed), throttled,
// checkpointed and resumable (`--resume ID`). Progress on stderr as a bar (TTY) or on stdout as
// JSON lines (`--json`). Never reads object bytes itself: the scanners do, on the bulk lane.

import { SingleBar, Presets } from 'cli-progress';
import type { Pool } from '@vigil/db';
import { parseSource, RescanError, runRescan, type RescanProgress, type RescanReason, type RescanResult } from '@vigil/hashlists';
import type { ObjectStore } from '@vigil/storage';

export interface RescanCliOptions {
  source?: string;
  all?: boolean;
  resume?: string;
  rate?: number;
  tenant: string;
  reason: RescanReason;
  json?: boolean;
}

export interface RescanIo {
  write: (text: string) => void;
  writeError: (text: string) => void;
  /** A progress bar on stderr (a TTY); absent otherwise. */
  bar?: boolean;
  signal?: AbortSignal;
}

export type RescanCommandResult = { ok: true; result: RescanResult } | { ok: false; error: string };

export async function runRescanCommand(deps: { pool: Pool; store: ObjectStore; requestedBy: string }, options: RescanCliOptions, io: RescanIo): Promise<RescanCommandResult> {
  const chosen = [options.source !== undefined, options.all === true, options.resume !== undefined].filter(Boolean).length;
  if (chosen !== 1) return { ok: false, error: 'give exactly one of --source s3://bucket/prefix, --all or --resume ID' };
  let source;
  try {
    source = options.all ? parseSource('all') : options.source ? parseSource(options.source) : undefined;
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  let bar: SingleBar | null = null;
  const onProgress = (p: RescanProgress) => {
    if (options.json) return io.write(`${JSON.stringify({ runId: p.runId, published: p.published, total: p.total, rate: p.rate, etaSeconds: p.etaSeconds })}\n`);
    if (!io.bar) return;
    if (!bar) {
      bar = new SingleBar(
        { format: 'rescan {bar} {value}/{total} objects | {rate}/s | ETA {eta_formatted}', stream: process.stderr, hideCursor: true, etaBuffer: 50 },
        Presets.shades_classic,
      );
      bar.start(p.total ?? 0, p.published, { rate: p.rate });
    }
    bar.update(p.published, { rate: p.rate });
  };
  try {
    const result = await runRescan(
      { pool: deps.pool, store: deps.store, onProgress, ...(io.signal && { signal: io.signal }) },
      {
        ...(options.resume && { runId: options.resume }),
        ...(source && { source }),
        tenantId: options.tenant,
        reason: options.reason,
        requestedBy: deps.requestedBy,
        ...(options.rate !== undefined && { rate: options.rate }),
      },
    );
    return { ok: true, result };
  } catch (err) {
    if (err instanceof RescanError) return { ok: false, error: err.message };
    throw err;
  } finally {
    (bar as SingleBar | null)?.stop();
  }
}
