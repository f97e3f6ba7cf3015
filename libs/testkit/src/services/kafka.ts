// Kafka for integration tests: KAFKA_BROKERS if set, else a testcontainers broker where Docker
// answers, else librdkafka's mock cluster run by infra/kafka-mock (real wire protocol, in memory,
// with fault injection). Test-only: never imported by services.

import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { dockerAvailable, unavailable, type Resolved, type ServiceSource } from './resolve.ts';

/** Fault injection on the mock cluster. Broker ids start at 1; -1 means every broker. */
export interface KafkaFaults {
  /** Closes the broker's connections and refuses new ones (its partitions become unavailable). */
  down(broker: number): Promise<void>;
  up(broker: number): Promise<void>;
  /** Delays every response of the broker by `ms`. */
  rtt(broker: number, ms: number): Promise<void>;
  /** Moves a partition's leadership (-1: no leader at all). */
  leader(topic: string, partition: number, broker: number): Promise<void>;
  /** Pins the coordinator of a group (or transactional id) to a broker. */
  coordinator(type: 'group' | 'transaction', key: string, broker: number): Promise<void>;
  /**
   * The next `count` requests of an API (a name like `Produce` or its key) fail with a Kafka error
   * (a name like `NOT_LEADER_FOR_PARTITION` or its code), cluster-wide.
   */
  err(apiKey: string | number, error: string | number, count: number): Promise<void>;
  /** Drops the queued errors of an API. */
  clear(apiKey: string | number): Promise<void>;
  /** Creates a topic (the mock cannot serve admin CreateTopics). */
  topic(name: string, partitions: number): Promise<void>;
  /** Any launcher command (see infra/kafka-mock/README.md); resolves with the text after `ok`. */
  command(line: string): Promise<string>;
}

export interface KafkaService {
  readonly brokers: readonly string[];
  readonly source: ServiceSource;
  /** Only on the mock cluster: real brokers are not ours to break. */
  readonly fault?: KafkaFaults;
  close(): Promise<void>;
}

export interface ResolveKafkaOptions {
  /** Names the suite in the skip banner. */
  suite?: string;
  /** Mock brokers (default 1); ignored for real brokers. */
  brokers?: number;
  /** Extra topics beyond the catalog and its DLQs, with their partition counts. */
  topics?: Readonly<Record<string, number>>;
  /** Partitions of the pre-created catalog topics (default 4, as Kafka's auto-creation here). */
  partitions?: number;
  /** The suite injects faults: only the mock cluster will do, whatever the environment offers. */
  faults?: boolean;
}

/** Consumer timings, in the field names of KafkaBusConfig. */
export interface KafkaTimings {
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly maxWaitTimeMs: number;
}

/**
 * Timings suited to the backend. The mock's group coordinator rebalances after about the session
 * timeout, so short ones make a member leaving or dying cost ~2-5 s instead of ~30 s (measured,
 * /work/shared/notes/test-services.md). Real brokers refuse sessions below
 * group.min.session.timeout.ms (6 s by default), so they get the shortest they accept.
 */
export function kafkaTimings(source: ServiceSource): KafkaTimings {
  return source === 'stand-in'
    ? { sessionTimeoutMs: 3000, heartbeatIntervalMs: 300, rebalanceTimeoutMs: 3000, maxWaitTimeMs: 200 }
    : { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000, rebalanceTimeoutMs: 10_000, maxWaitTimeMs: 500 };
}

const KAFKA_IMAGE = 'confluentinc/cp-kafka:7.9.0';

export async function resolveKafka(options: ResolveKafkaOptions = {}): Promise<Resolved<KafkaService>> {
  const suite = options.suite ?? 'Kafka integration tests';
  if (!options.faults) {
    const env = process.env.KAFKA_BROKERS?.trim();
    if (env) {
      const brokers = env.split(',').map((b) => b.trim()).filter(Boolean);
      return { available: true, source: 'env', service: { brokers, source: 'env', close: async () => {} } };
    }
    if (await dockerAvailable()) return { available: true, source: 'container', service: await startKafkaContainer(options) };
  }
  const built = buildKafkaMock();
  if (!built.ok) return unavailable(suite, built.reason);
  try {
    const mock = await startKafkaMock(built.path, options);
    return { available: true, source: 'stand-in', service: mock };
  } catch (err) {
    return unavailable(suite, `the Kafka mock launcher failed to start: ${(err as Error).message}`);
  }
}

async function startKafkaContainer(options: ResolveKafkaOptions): Promise<KafkaService> {
  const { KafkaContainer } = await import('@testcontainers/kafka');
  // Auto-creation with the catalog's partition count stands in for the launcher's pre-created
  // topics: one `kafka-topics` exec per topic costs a JVM start each.
  const container = await new KafkaContainer(process.env.KAFKA_IMAGE ?? KAFKA_IMAGE)
    .withEnvironment({ KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true', KAFKA_NUM_PARTITIONS: String(options.partitions ?? 4) })
    .start();
  const brokers = [`${container.getHost()}:${container.getMappedPort(9093)}`];
  return {
    brokers,
    source: 'container',
    close: async () => {
      await container.stop();
    },
  };
}

const BUILD_SCRIPT = fileURLToPath(new URL('../../../../infra/kafka-mock/build.sh', import.meta.url));

/** Builds (or finds cached) the launcher; a missing gcc or librdkafka-dev is a reason, not a throw. */
export function buildKafkaMock(): { ok: true; path: string } | { ok: false; reason: string } {
  const result = spawnSync('sh', [BUILD_SCRIPT], { encoding: 'utf8', timeout: 60_000 });
  if (result.error) return { ok: false, reason: `cannot run ${BUILD_SCRIPT}: ${result.error.message}` };
  if (result.status !== 0) {
    const detail = result.stderr.trim().split('\n').slice(-5).join(' | ');
    return { ok: false, reason: `building the Kafka mock launcher failed (exit ${result.status}): ${detail}` };
  }
  return { ok: true, path: result.stdout.trim() };
}

const live = new Set<ChildProcessWithoutNullStreams>();
let exitHookInstalled = false;

/**
 * Starts the mock cluster launcher and waits for its bootstrap line. Each command is answered with
 * one line, in order, so replies are matched to commands first-in first-out.
 */
export async function startKafkaMock(binary: string, options: ResolveKafkaOptions = {}): Promise<KafkaService> {
  const args = ['--brokers', String(options.brokers ?? 1), '--partitions', String(options.partitions ?? 4)];
  for (const [topic, partitions] of Object.entries(options.topics ?? {})) args.push(`${topic}:${partitions}`);
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // The launcher also exits on stdin EOF; this covers a parent that exits without closing it.
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }

  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout });
  const waiting: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];
  let exited: Error | undefined;
  lines.on('line', (line) => waiting.shift()?.resolve(line));
  child.once('exit', (code, signal) => {
    live.delete(child);
    exited = new Error(`kafka-mock exited (${signal ?? code})${stderr ? `: ${stderr.trim()}` : ''}`);
    for (const w of waiting.splice(0)) w.reject(exited);
  });
  child.once('error', (err) => {
    exited = err;
    for (const w of waiting.splice(0)) w.reject(err);
  });

  const nextLine = (): Promise<string> =>
    exited ? Promise.reject(exited) : new Promise((resolve, reject) => waiting.push({ resolve, reject }));

  const bootstrap = await withTimeout(nextLine(), 10_000, 'the kafka-mock bootstrap line').catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  const brokers = bootstrap.split(',').filter(Boolean);

  let queue: Promise<unknown> = Promise.resolve();
  const command = (line: string): Promise<string> => {
    // Serialized: a reply belongs to the command written just before it.
    const run = queue.then(async () => {
      const reply = nextLine();
      child.stdin.write(`${line}\n`);
      const text = await withTimeout(reply, 10_000, `kafka-mock reply to "${line}"`);
      if (text === 'ok' || text.startsWith('ok ')) return text.slice(3);
      throw new Error(`kafka-mock: "${line}" failed: ${text}`);
    });
    queue = run.catch(() => {});
    return run;
  };
  const call = async (line: string): Promise<void> => {
    await command(line);
  };

  const fault: KafkaFaults = {
    down: (broker) => call(`down ${broker}`),
    up: (broker) => call(`up ${broker}`),
    rtt: (broker, ms) => call(`rtt ${broker} ${ms}`),
    leader: (topic, partition, broker) => call(`leader ${topic} ${partition} ${broker}`),
    coordinator: (type, key, broker) => call(`coordinator ${type} ${key} ${broker}`),
    err: (apiKey, error, count) => call(`err ${apiKey} ${error} ${count}`),
    clear: (apiKey) => call(`clear ${apiKey}`),
    topic: (name, partitions) => call(`topic ${name} ${partitions}`),
    command,
  };

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin.end('quit\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    })());

  return { brokers, source: 'stand-in', fault, close };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
