import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('writes JSON lines with the service and component, and redacts secrets, addresses and list contents', () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: 'scanner', destination }).child({ component: 'consumer' });
    log.info(
      { uploadId: 'u1', uploader: { accountId: 'acct-1', ip: '203.0.113.9', userAgent: 'curl/8' }, connectionString: 'postgres://u:pw@h/db', entries: ['ab'.repeat(32)] },
      'scanned',
    );
    const [line] = lines;
    expect(line).toMatchObject({ service: 'scanner', component: 'consumer', uploadId: 'u1', msg: 'scanned', level: 30 });
    expect(line!.uploader).toEqual({ accountId: 'acct-1', ip: '[redacted]', userAgent: '[redacted]' });
    expect(line!.connectionString).toBe('[redacted]');
    expect(line!.entries).toBe('[redacted]');
    expect(JSON.stringify(lines)).not.toMatch(/203\.0\.113\.9|pw@|abab/);
  });

  it('serializes errors under err with their message and stack', () => {
    const { lines, destination } = capture();
    createLogger({ service: 'x', destination }).error({ err: new Error('boom') }, 'failed');
    expect(lines[0]!.err).toMatchObject({ type: 'Error', message: 'boom' });
    expect(String((lines[0]!.err as { stack: string }).stack)).toContain('logger.test.ts');
  });
});
