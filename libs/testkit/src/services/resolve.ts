// How a test gets a real backing service, in order: an env URL (KAFKA_BROKERS, S3_ENDPOINT,
// DATABASE_URL), testcontainers where a Docker engine answers, else a local stand-in that speaks
// the real protocol. A suite whose service cannot be had is skipped loudly, and under
// REQUIRE_INTEGRATION=1 (set by .ci/run) it fails instead: CI never counts a skip as a pass.

export type ServiceSource = 'env' | 'container' | 'stand-in';

export type Resolved<T> = { available: true; source: ServiceSource; service: T } | { available: false; reason: string };

export function integrationRequired(): boolean {
  return process.env.REQUIRE_INTEGRATION === '1';
}

let docker: Promise<boolean> | undefined;

/** Whether a container runtime answers. Without one, testcontainers rejects in a few ms. */
export function dockerAvailable(): Promise<boolean> {
  if (process.env.VIGIL_TEST_NO_DOCKER === '1') return Promise.resolve(false);
  docker ??= import('testcontainers')
    .then(({ getContainerRuntimeClient }) => getContainerRuntimeClient())
    .then(
      () => true,
      () => false,
    );
  return docker;
}

/**
 * Call when a suite cannot get its service: prints a banner that a skim of the test log cannot
 * miss, and throws under REQUIRE_INTEGRATION=1 so the run fails.
 */
export function unavailable<T>(suite: string, reason: string): Resolved<T> {
  const line = '!'.repeat(100);
  const text = `\n${line}\n!! SKIPPED: ${suite}\n!! because: ${reason}\n${line}\n`;
  if (integrationRequired()) throw new Error(`REQUIRE_INTEGRATION=1 and ${suite} cannot run: ${reason}`);
  process.stderr.write(text);
  return { available: false, reason };
}
