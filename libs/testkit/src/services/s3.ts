// S3 for integration tests: S3_ENDPOINT if set, else MinIO via testcontainers where Docker
// answers, else s3rver (the S3 protocol on a temp directory). Test-only: never imported by
// services. Each kind says what it can prove, so suites assert enforcement where it exists and
// the requests we send where it does not.

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { dockerAvailable, unavailable, type Resolved, type ServiceSource } from './resolve.ts';

export interface S3Service {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly forcePathStyle: boolean;
  readonly source: ServiceSource;
  /** Object Lock is enforced (a locked version cannot be deleted). s3rver drops lock headers. */
  readonly enforcesObjectLock: boolean;
  /** Bucket versioning, ListObjectVersions and version-specific reads. s3rver has none. */
  readonly versioning: boolean;
  /** `If-None-Match: *` on PutObject is honoured. s3rver ignores it. */
  readonly conditionalWrites: boolean;
  /** `x-amz-tagging` on PutObject/CopyObject is stored. s3rver only stores PutObjectTagging. */
  readonly tagsOnWrite: boolean;
  /** Any valid key round-trips and listings are in byte order. s3rver: no `a//b`, walk order. */
  readonly keyFidelity: boolean;
  /**
   * What a client must set as its request checksum policy. s3rver does not decode the SDK's
   * default aws-chunked stream bodies (it would store the chunk framing as content), so clients
   * talking to it may only send checksums where an API requires them.
   */
  readonly requestChecksums: 'when_supported' | 'when_required';
  /** Stops the server (or container) and removes its data. Idempotent. */
  close(): Promise<void>;
}

export interface ResolveS3Options {
  /** Names the suite in the skip banner. */
  suite?: string;
}

const MINIO_IMAGE = 'minio/minio:RELEASE.2025-04-22T22-12-26Z';

export async function resolveS3(options: ResolveS3Options = {}): Promise<Resolved<S3Service>> {
  const suite = options.suite ?? 'S3 integration tests';
  const endpoint = process.env.S3_ENDPOINT?.trim();
  if (endpoint) {
    const accessKeyId = process.env.S3_ACCESS_KEY_ID;
    const secretAccessKey = process.env.S3_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) return unavailable(suite, 'S3_ENDPOINT is set but S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY are not');
    // An env endpoint is taken to be a real S3 implementation (the compose MinIO has lock on);
    // S3_CAPABILITIES=none says otherwise for a stand-in started by hand.
    const full = process.env.S3_CAPABILITIES !== 'none';
    return service('env', {
      endpoint,
      region: process.env.S3_REGION ?? 'us-east-1',
      credentials: { accessKeyId, secretAccessKey },
      forcePathStyle: process.env.S3_FORCE_PATH_STYLE !== '0',
      enforcesObjectLock: full,
      versioning: full,
      conditionalWrites: full,
      tagsOnWrite: full,
      keyFidelity: full,
      requestChecksums: full ? 'when_supported' : 'when_required',
      close: async () => undefined,
    });
  }
  if (await dockerAvailable()) {
    try {
      const { MinioContainer } = await import('@testcontainers/minio');
      const container = await new MinioContainer(MINIO_IMAGE).start();
      let stopped: Promise<unknown> | undefined;
      return service('container', {
        endpoint: container.getConnectionUrl(),
        region: 'us-east-1',
        credentials: { accessKeyId: container.getUsername(), secretAccessKey: container.getPassword() },
        forcePathStyle: true,
        enforcesObjectLock: true,
        versioning: true,
        conditionalWrites: true,
        tagsOnWrite: true,
        keyFidelity: true,
        requestChecksums: 'when_supported',
        close: async () => {
          stopped ??= container.stop();
          await stopped;
        },
      });
    } catch (error) {
      return unavailable(suite, `MinIO container failed to start: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  try {
    return service('stand-in', await startS3rver());
  } catch (error) {
    return unavailable(suite, `s3rver failed to start: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function service(source: ServiceSource, rest: Omit<S3Service, 'source'>): Resolved<S3Service> {
  return { available: true, source, service: { ...rest, source } };
}

// s3rver runs in a child process because its ListObjectsV2 continuation tokens are DES-encrypted,
// which OpenSSL 3 only offers with --openssl-legacy-provider (measured: a 500 on the second page
// without it). A child gets the flag whatever the test runner's own flags are.
const S3RVER_MAIN = `
const [S3rverPath, directory] = process.argv.slice(1);
const S3rver = require(S3rverPath);
const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
server.run().then(
  (address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'),
  (error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); },
);
// EOF on stdin: the parent is gone (or closing us); do not outlive it.
process.stdin.on('end', () => server.close(() => process.exit(0)));
process.stdin.resume();
`;

async function startS3rver(): Promise<Omit<S3Service, 'source'>> {
  const s3rverPath = createRequire(import.meta.url).resolve('s3rver');
  const directory = await mkdtemp(join(tmpdir(), 'vigil-s3rver-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', S3RVER_MAIN, s3rverPath, directory], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no port within 10 s')), 10_000);
      const lines = createInterface({ input: child.stdout });
      lines.once('line', (line) => {
        clearTimeout(timer);
        const parsed = JSON.parse(line) as { port?: unknown };
        if (typeof parsed.port === 'number') resolve(parsed.port);
        else reject(new Error(`unexpected launcher output: ${line}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${code}: ${stderr.trim()}`));
      });
    });
    let closing: Promise<void> | undefined;
    return {
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      // s3rver's one account; it accepts any secret (measured), so these prove nothing about auth.
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      forcePathStyle: true,
      enforcesObjectLock: false,
      versioning: false,
      conditionalWrites: false,
      tagsOnWrite: false,
      keyFidelity: false,
      requestChecksums: 'when_required',
      close: () => {
        closing ??= (async () => {
          child.stdin.end();
          const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(timer);
          await rm(directory, { recursive: true, force: true });
        })();
        return closing;
      },
    };
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}
