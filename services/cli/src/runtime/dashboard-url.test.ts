import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localDashboardUrl } from './dashboard-url.ts';

describe('localDashboardUrl', () => {
  it('puts the local token in the fragment of the gateway URL', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'vigil-url-')), 'gateway-token');
    await writeFile(file, 'abc_DEF-123\n', { mode: 0o600 });
    expect(await localDashboardUrl({ gatewayUrl: 'http://127.0.0.1:8080', localTokenFile: file })).toBe('http://127.0.0.1:8080/#token=abc_DEF-123');
  });

  it('is null without a gateway here or when tokens were configured (no local secret to share)', async () => {
    expect(await localDashboardUrl({ gatewayUrl: null, localTokenFile: '/nonexistent' })).toBeNull();
    expect(await localDashboardUrl({ gatewayUrl: 'http://127.0.0.1:8080', localTokenFile: null })).toBeNull();
  });
});
