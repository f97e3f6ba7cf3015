import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.ts';
import { startMetricsServer, type MetricsServer } from './metrics-server.ts';

describe('startMetricsServer', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves the registry at GET /metrics in the Prometheus text format on an ephemeral port', async () => {
    const metrics = createMetrics({ processMetrics: false });
    metrics.scans.inc({ verdict: 'matched', lane: 'live', source: 'workers' }, 2);
    server = await startMetricsServer({ registry: metrics.registry, host: '127.0.0.1', port: 0 });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(server.url).not.toContain(':0/');
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(metrics.registry.contentType);
    expect(await res.text()).toContain('vigil_scans_total{verdict="matched",lane="live",source="workers"} 2');
  });

  it('answers 404 elsewhere and 405 to other methods', async () => {
    server = await startMetricsServer({ registry: createMetrics({ processMetrics: false }).registry, host: '127.0.0.1', port: 0 });
    const base = server.url.replace(/\/metrics$/, '');
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
  });

  it('rejects when the port is taken, and frees it on close', async () => {
    server = await startMetricsServer({ registry: createMetrics({ processMetrics: false }).registry, host: '127.0.0.1', port: 0 });
    const port = Number(new URL(server.url).port);
    await expect(startMetricsServer({ registry: createMetrics({ processMetrics: false }).registry, host: '127.0.0.1', port })).rejects.toThrow(/EADDRINUSE/);
    await server.close();
    server = await startMetricsServer({ registry: createMetrics({ processMetrics: false }).registry, host: '127.0.0.1', port });
    expect(server.url).toContain(`:${port}/`);
  });
});
