import { describe, expect, it } from 'vitest';
import { cachedRead, createMetrics, type PipelineState } from './metrics.ts';

const state: PipelineState = {
  reportQueue: { queued: 2, held: 1 },
  evidenceQueue: { pending: 3, failed: 0 },
  quarantineActive: 4,
  outboxBacklog: 5,
  outboxOldestSeconds: 1.5,
  consumerLag: [{ topic: 'upload.received.v1', group: 'scanner', lag: 7 }],
  dlqDepth: [{ topic: 'match.found.v1', depth: 1 }],
};

describe('createMetrics', () => {
  it('registers the catalogue under its contract names, process metrics optional', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name).sort();
    expect(names).toEqual([
      'vigil_check_duration_seconds', 'vigil_dead_lettered_total', 'vigil_detection_rule_info', 'vigil_evidence_operations_total', 'vigil_list_entries', 'vigil_list_index_bytes',
      'vigil_list_suspended_entries', 'vigil_list_version', 'vigil_matches_total', 'vigil_pipeline_state_errors_total', 'vigil_quarantine_operations_total',
      'vigil_reports_total', 'vigil_retro_last_run_timestamp_seconds', 'vigil_retro_matches_total', 'vigil_scan_end_to_end_seconds', 'vigil_scan_stage_seconds',
      'vigil_scans_total', 'vigil_unscannable_total',
    ]);
    const withProcess = createMetrics();
    expect(await withProcess.registry.getSingleMetricAsString('process_cpu_user_seconds_total')).toContain('process_cpu_user_seconds_total');
  });

  it('keeps registries apart: two processes-worth of metrics in one test never share a count', async () => {
    const a = createMetrics({ processMetrics: false });
    const b = createMetrics({ processMetrics: false });
    a.scans.inc({ verdict: 'clean', lane: 'live', source: 'workers' });
    expect((await a.scans.get()).values).toEqual([{ labels: { verdict: 'clean', lane: 'live', source: 'workers' }, value: 1 }]);
    expect((await b.scans.get()).values).toEqual([]);
  });

  it('exports pipeline gauges only once watched, read at scrape time through one cached read', async () => {
    const metrics = createMetrics({ processMetrics: false });
    expect(await metrics.registry.metrics()).not.toContain('vigil_outbox_backlog');
    let reads = 0;
    metrics.watchPipeline(async () => (reads++, state), { ttlMs: 60_000 });
    const text = await metrics.registry.metrics();
    expect(reads).toBe(1);
    expect(text).toContain('vigil_report_queue{state="queued"} 2');
    expect(text).toContain('vigil_report_queue{state="held"} 1');
    expect(text).toContain('vigil_evidence_queue{state="pending"} 3');
    expect(text).toContain('vigil_quarantine_active 4');
    expect(text).toContain('vigil_outbox_backlog 5');
    expect(text).toContain('vigil_outbox_oldest_seconds 1.5');
    expect(text).toContain('vigil_consumer_lag{topic="upload.received.v1",group="scanner"} 7');
    expect(text).toContain('vigil_dlq_depth{topic="match.found.v1"} 1');
    await metrics.registry.metrics();
    expect(reads).toBe(1);
  });

  it('keeps the last values and counts the failure when a read fails', async () => {
    const metrics = createMetrics({ processMetrics: false });
    let fail = false;
    metrics.watchPipeline(async () => {
      if (fail) throw new Error('database down');
      return state;
    }, { ttlMs: 200 });
    expect(await metrics.registry.metrics()).toContain('vigil_quarantine_active 4');
    fail = true;
    await new Promise((resolve) => setTimeout(resolve, 250));
    const text = await metrics.registry.metrics();
    expect(text).toContain('vigil_quarantine_active 4');
    expect(text).toContain('vigil_consumer_lag{topic="upload.received.v1",group="scanner"} 7');
    expect((await metrics.pipelineStateErrors.get()).values[0]!.value).toBe(1);
  });

  it('serves list gauges from the loaded lists, dropping a list that is gone', async () => {
    const metrics = createMetrics({ processMetrics: false });
    let lists = [
      { listId: 'a', version: 3, entries: 10, suspended: 1, indexBytes: 4096 },
      { listId: 'b', version: 1, entries: 2, suspended: 0 },
    ];
    metrics.watchLists(() => lists);
    let text = await metrics.registry.metrics();
    expect(text).toContain('vigil_list_version{list="a"} 3');
    expect(text).toContain('vigil_list_entries{list="b"} 2');
    expect(text).toContain('vigil_list_suspended_entries{list="a"} 1');
    expect(text).toContain('vigil_list_index_bytes{list="a"} 4096');
    expect(text).not.toContain('vigil_list_index_bytes{list="b"}');
    lists = [lists[0]!];
    text = await metrics.registry.metrics();
    expect(text).not.toContain('list="b"');
  });
});

describe('cachedRead', () => {
  it('shares a read in flight, caches it for the ttl and never caches a failure', async () => {
    let clock = 0;
    let calls = 0;
    let fail = false;
    const read = cachedRead(async () => {
      calls++;
      if (fail) throw new Error('no');
      return calls;
    }, 2000, () => clock);
    expect(await Promise.all([read(), read()])).toEqual([1, 1]);
    clock = 1999;
    expect(await read()).toBe(1);
    clock = 2000;
    fail = true;
    await expect(read()).rejects.toThrow('no');
    fail = false;
    expect(await read()).toBe(3);
    expect(calls).toBe(3);
  });
});
