import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, scrubText } from './logger.ts';

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

  it('scrubs presigned URLs and addresses from messages, string fields and error messages', () => {
    const { lines, destination } = capture();
    const url = 'https://s3.example.com/b/k.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101&X-Amz-Signature=deadbeefcafe';
    const log = createLogger({ service: 'x', destination });
    log.warn({ reason: `fetch ${url} failed`, detail: { where: 'from 198.51.100.23' }, remoteAddress: '198.51.100.24' }, `retrying ${url}`);
    log.error({ err: new Error(`GET ${url} from 192.0.2.1 refused`) }, 'storage failed');
    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/deadbeefcafe|AKIAEXAMPLE|198\.51\.100\.2[34]|192\.0\.2\.1/);
    expect(lines[0]!.msg).toBe('retrying https://s3.example.com/b/k.jpg?[redacted]');
    expect(lines[0]!.remoteAddress).toBe('[redacted]');
    expect((lines[0]!.detail as { where: string }).where).toBe('from [redacted-ip]');
    expect((lines[1]!.err as { message: string }).message).toBe('GET https://s3.example.com/b/k.jpg?[redacted] from [redacted-ip] refused');
  });

  it('leaves ordinary text alone: versions, ids, plain URLs', () => {
    expect(scrubText('list v1.2.3 at https://example.com/a?page=2 took 12.5 ms')).toBe('list v1.2.3 at https://example.com/a?page=2 took 12.5 ms');
  });
});
