// The Bus contract: every adapter (KafkaBus, PostgresBus) runs this suite against its real
// backing service. Topics are shared across tests, so each test tags its events with its own
// traceId and ignores everyone else's; groups are unique per test.

import { createEvent, type Event } from '@vigil/events';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deadLetter, done, retry, type Bus, type DeadLetter, type DeadLetterListener, type Handler, type Subscription } from './bus.ts';

export interface BusHarness {
  /** A new Bus on the shared backing service (a new client, as a second process would have). */
  createBus(options?: { onDeadLettered?: DeadLetterListener }): Promise<Bus>;
  /** Writes raw bytes to a topic, bypassing the catalog: how poison gets onto the bus. */
  publishRaw(topic: string, key: string, value: Uint8Array): Promise<void>;
  /** Rebalances can be slow on some backends (seconds on the Kafka mock). */
  readonly timeoutMs: number;
  close(): Promise<void>;
}

const TOPIC = 'upload.received.v1';

/**
 * A test upload event. The default object key (the bus key) is the run's own: a key shared with
 * earlier runs' events joins their lane in a fresh group's replay of the log, and a lane that
 * finishes ahead of lower offsets is (rightly) not committed past them when the member stops.
 */
export function uploadEvent(run: string, n: number, key = `${run}/k${n}`): Event<'upload.received.v1'> {
  return createEvent(
    TOPIC,
    {
      uploadId: `${run}-${n}`,
      source: 'workers',
      object: { tenantId: 't1', bucket: 'b1', key, size: 100 + n },
      uploader: { accountId: 'a1' },
      uploadedAt: '2026-11-21T10:00:00.000Z',
      mode: 'async',
    },
    { producer: 'contract', traceId: run },
  );
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function busContract(name: string, createHarness: () => Promise<BusHarness>): void {
  describe(`Bus contract: ${name}`, () => {
    let harness: BusHarness | undefined;
    const open: Bus[] = [];
    let counter = 0;

    const setup = async () => {
      harness ??= await createHarness();
      const bus = await harness.createBus();
      open.push(bus);
      const run = `${name}-${process.pid}-${Date.now()}-${counter++}`;
      return { harness, bus, run, group: `g-${run}` };
    };

    /** A handler that only sees this test's events (by traceId). */
    const only = (run: string, handler: Handler<'upload.received.v1'>): Handler<'upload.received.v1'> => async (event, delivery) =>
      event.traceId === run ? handler(event, delivery) : done;

    const dlqOf = async (bus: Bus, run: string): Promise<DeadLetter[]> => {
      const letters = await bus.readDeadLetters(TOPIC, { limit: 10_000 });
      return letters.filter((letter) => letter.key?.includes(run) || new TextDecoder().decode(letter.value ?? new Uint8Array()).includes(run));
    };

    afterEach(async () => {
      await Promise.all(open.splice(0).map((bus) => bus.close()));
    });
    afterAll(async () => {
      await harness?.close();
    });

    it('delivers every published event once to a group, payload intact', async () => {
      const { bus, run, group } = await setup();
      const events = Array.from({ length: 10 }, (_, n) => uploadEvent(run, n));
      await bus.publish(events);
      const seen: Event[] = [];
      await bus.subscribe({ topic: TOPIC, group }, only(run, async (event) => (seen.push(event), done)));
      await waitFor(() => seen.length >= 10, harness!.timeoutMs, '10 events');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(seen.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
      expect(seen.find((e) => e.id === events[3]!.id)).toEqual(events[3]);
    });

    it('gives each consumer group its own copy', async () => {
      const { bus, run, group } = await setup();
      const a: string[] = [];
      const b: string[] = [];
      await bus.publish([uploadEvent(run, 1), uploadEvent(run, 2)]);
      await bus.subscribe({ topic: TOPIC, group: `${group}-a` }, only(run, async (e) => (a.push(e.id), done)));
      await bus.subscribe({ topic: TOPIC, group: `${group}-b` }, only(run, async (e) => (b.push(e.id), done)));
      await waitFor(() => a.length === 2 && b.length === 2, harness!.timeoutMs, 'both groups');
      expect(a.sort()).toEqual(b.sort());
    });

    it('keeps per-key order and never runs one key twice at once, with concurrency', async () => {
      const { bus, run, group } = await setup();
      const keys = ['x', 'y', 'z'];
      const events = Array.from({ length: 30 }, (_, n) => uploadEvent(run, n, `${run}/${keys[n % 3]}`));
      await bus.publish(events);
      const order = new Map<string, number[]>();
      const inFlight = new Set<string>();
      let overlapSameKey = false;
      let maxParallel = 0;
      await bus.subscribe(
        { topic: TOPIC, group, concurrency: 4 },
        only(run, async (event) => {
          const key = event.payload.object.key;
          if (inFlight.has(key)) overlapSameKey = true;
          inFlight.add(key);
          maxParallel = Math.max(maxParallel, inFlight.size);
          await new Promise((resolve) => setTimeout(resolve, 5));
          order.set(key, [...(order.get(key) ?? []), Number(event.payload.uploadId.split('-').at(-1))]);
          inFlight.delete(key);
          return done;
        }),
      );
      await waitFor(() => [...order.values()].reduce((s, l) => s + l.length, 0) >= 30, harness!.timeoutMs, '30 events');
      expect(overlapSameKey).toBe(false);
      for (const [index, key] of keys.entries()) {
        const expected = events.map((_, n) => n).filter((n) => n % 3 === index);
        expect(order.get(`${run}/${key}`)).toEqual(expected);
      }
    });

    it('retries with backoff until the handler succeeds, counting attempts', async () => {
      const { bus, run, group } = await setup();
      const attempts: number[] = [];
      const times: number[] = [];
      await bus.subscribe(
        { topic: TOPIC, group, retry: { initialDelayMs: 40, maxDelayMs: 200 } },
        only(run, async (_event, delivery) => {
          attempts.push(delivery.attempt);
          times.push(Date.now());
          if (delivery.attempt === 1) throw new Error('transient');
          return delivery.attempt < 3 ? retry('not yet') : done;
        }),
      );
      await bus.publish([uploadEvent(run, 1)]);
      await waitFor(() => attempts.length >= 3, harness!.timeoutMs, '3 attempts');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(attempts).toEqual([1, 2, 3]);
      // Backoff with equal jitter: at least half of 40 ms, then half of 80 ms.
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(19);
      expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(39);
    });

    it('dead-letters an event whose retries are exhausted, and the partition moves on', async () => {
      const { bus, run, group } = await setup();
      const key = `${run}/same-key`;
      const handled: number[] = [];
      await bus.subscribe(
        { topic: TOPIC, group, retry: { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 10 } },
        only(run, async (event) => {
          const n = Number(event.payload.uploadId.split('-').at(-1));
          if (n === 1) return retry('downstream unavailable');
          handled.push(n);
          return done;
        }),
      );
      await bus.publish([uploadEvent(run, 1, key), uploadEvent(run, 2, key)]);
      await waitFor(() => handled.includes(2), harness!.timeoutMs, 'the event after the failing one');
      const letters = await dlqOf(bus, run);
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({ topic: TOPIC, group, reason: 'retries_exhausted', attempts: 3, message: 'downstream unavailable', key: uploadEvent(run, 1, key).key });
      expect(JSON.parse(new TextDecoder().decode(letters[0]!.value!)).payload.uploadId).toBe(`${run}-1`);
    });

    it('dead-letters what the handler rejects, without retrying', async () => {
      const { bus, run, group } = await setup();
      let calls = 0;
      await bus.subscribe({ topic: TOPIC, group }, only(run, async () => (calls++, deadLetter('object reference points nowhere'))));
      await bus.publish([uploadEvent(run, 1, `${run}/k`)]);
      await waitFor(async () => (await dlqOf(bus, run)).length === 1, harness!.timeoutMs, 'a dead letter');
      expect(calls).toBe(1);
      expect((await dlqOf(bus, run))[0]).toMatchObject({ reason: 'rejected', message: 'object reference points nowhere', attempts: 1 });
    });

    it('dead-letters poison (bad JSON, schema violation, wrong topic) and keeps consuming', async () => {
      const { harness, bus, run, group } = await setup();
      const key = `${run}/poison`;
      const good = uploadEvent(run, 9, key);
      const broken = { ...uploadEvent(run, 2, key), payload: { uploadId: `${run}-2` } };
      const wrong = createEvent('rescan.requested.v1', {
        rescanId: `${run}-3`, object: { tenantId: 't', bucket: 'b', key, size: 1 }, reason: 'operator', requestedBy: 'ops', requestedAt: '2026-11-21T10:00:00.000Z',
      }, { producer: 'contract', traceId: run });
      await harness.publishRaw(TOPIC, key, new TextEncoder().encode(`{"not json ${run}`));
      await harness.publishRaw(TOPIC, key, new TextEncoder().encode(JSON.stringify(broken)));
      await harness.publishRaw(TOPIC, key, new TextEncoder().encode(JSON.stringify(wrong)));
      await bus.publish([good]);
      const seen: string[] = [];
      await bus.subscribe({ topic: TOPIC, group }, only(run, async (event) => (seen.push(event.id), done)));
      await waitFor(() => seen.length === 1, harness.timeoutMs, 'the good event after the poison');
      expect(seen).toEqual([good.id]);
      await waitFor(async () => (await dlqOf(bus, run)).length >= 3, harness.timeoutMs, 'three dead letters');
      // Every group that meets the poison parks it; ours is the one that matters here.
      const mine = (await dlqOf(bus, run)).filter((letter) => letter.group === group);
      expect(mine.map((letter) => letter.reason)).toEqual(['bad_json', 'schema_violation', 'wrong_topic']);
      expect(new TextDecoder().decode(mine[0]!.value!)).toBe(`{"not json ${run}`);
    });

    it('commits finished work: a new member of the group resumes after it, nothing redelivered', async () => {
      const { bus, run, group } = await setup();
      await bus.publish(Array.from({ length: 5 }, (_, n) => uploadEvent(run, n)));
      const first: number[] = [];
      const sub = await bus.subscribe({ topic: TOPIC, group }, only(run, async (e) => (first.push(Number(e.payload.uploadId.split('-').at(-1))), done)));
      await waitFor(() => first.length === 5, harness!.timeoutMs, 'first 5');
      await sub.stop();
      await bus.publish(Array.from({ length: 3 }, (_, n) => uploadEvent(run, 5 + n)));
      const other = await harness!.createBus();
      open.push(other);
      const second: number[] = [];
      await other.subscribe({ topic: TOPIC, group }, only(run, async (e) => (second.push(Number(e.payload.uploadId.split('-').at(-1))), done)));
      await waitFor(() => second.length >= 3, harness!.timeoutMs, 'next 3');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(first.sort()).toEqual([0, 1, 2, 3, 4]);
      expect(second.sort()).toEqual([5, 6, 7]);
    });

    it('drains on stop: running handlers finish, an event in backoff is left for the next member', async () => {
      const { bus, run, group } = await setup();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const finished: number[] = [];
      let started = 0;
      const sub = await bus.subscribe(
        { topic: TOPIC, group, concurrency: 2, retry: { initialDelayMs: 60_000, maxDelayMs: 60_000 } },
        only(run, async (event) => {
          const n = Number(event.payload.uploadId.split('-').at(-1));
          started++;
          if (n === 1) return retry('later');
          await gate;
          finished.push(n);
          return done;
        }),
      );
      await bus.publish([uploadEvent(run, 1, `${run}/a`), uploadEvent(run, 2, `${run}/b`)]);
      await waitFor(() => started === 2, harness!.timeoutMs, 'both handlers started');
      const stopping = sub.stop();
      setTimeout(release, 100);
      await stopping;
      expect(finished).toEqual([2]);
      const redelivered: number[] = [];
      await bus.subscribe({ topic: TOPIC, group }, only(run, async (e) => (redelivered.push(Number(e.payload.uploadId.split('-').at(-1))), done)));
      // Event 2 may come again too (commits cover only a contiguous finished prefix): at least once.
      await waitFor(() => redelivered.includes(1), harness!.timeoutMs, 'the abandoned event redelivered');
    });

    it('reports lag per partition: what is published and not yet committed', async () => {
      const { bus, run, group } = await setup();
      // A group that has committed once, then falls behind.
      const sub = await bus.subscribe({ topic: TOPIC, group }, async () => done);
      await bus.publish([uploadEvent(run, 0)]);
      await waitFor(async () => sum(await bus.lag([{ group, topic: TOPIC }])) === 0, harness!.timeoutMs, 'lag 0');
      await sub.stop();
      await bus.publish(Array.from({ length: 4 }, (_, n) => uploadEvent(run, n + 1)));
      const lag = await bus.lag([{ group, topic: TOPIC }]);
      expect(sum(lag)).toBe(4);
      expect(lag.every((p) => p.group === group && p.topic === TOPIC && BigInt(p.end) >= BigInt(p.committed ?? '0'))).toBe(true);
    });

    it('sums lag per topic and group, for given pairs and for the groups this bus consumed', async () => {
      const { bus, run, group } = await setup();
      const sub = await bus.subscribe({ topic: TOPIC, group }, async () => done);
      await bus.publish([uploadEvent(run, 0)]);
      await waitFor(async () => sum(await bus.lag([{ group, topic: TOPIC }])) === 0, harness!.timeoutMs, 'lag 0');
      await sub.stop();
      await bus.publish(Array.from({ length: 3 }, (_, n) => uploadEvent(run, n + 1)));
      expect(await bus.consumerLag([{ group, topic: TOPIC }])).toEqual([{ topic: TOPIC, group, lag: 3 }]);
      const all = await bus.consumerLag();
      expect(all.filter((l) => l.group === group)).toEqual([{ topic: TOPIC, group, lag: 3 }]);
      expect(all.some((l) => l.topic.endsWith('.dlq'))).toBe(false);
    });

    it('counts dead letters per source topic, and tells the listener of each', async () => {
      harness ??= await createHarness();
      const heard: DeadLetter[] = [];
      const bus = await harness.createBus({ onDeadLettered: (letter) => heard.push(letter) });
      open.push(bus);
      const run = `${name}-${process.pid}-${Date.now()}-${counter++}`;
      const depthOf = async () => (await bus.deadLetterDepth()).find((d) => d.topic === TOPIC)?.depth ?? 0;
      const before = await depthOf();
      await bus.subscribe({ topic: TOPIC, group: `g-${run}` }, only(run, async () => deadLetter('not ours to handle')));
      await bus.publish([uploadEvent(run, 1, `${run}/a`), uploadEvent(run, 2, `${run}/b`)]);
      // A new group reads the topic from its start: other tests' poison is dead-lettered (and heard) too.
      const ours = () => heard.filter((l) => l.key?.includes(`${run}/`));
      await waitFor(() => ours().length === 2, harness.timeoutMs, 'two dead letters heard');
      expect(ours().map((l) => [l.topic, l.group, l.reason]).sort()).toEqual([[TOPIC, `g-${run}`, 'rejected'], [TOPIC, `g-${run}`, 'rejected']]);
      await waitFor(async () => (await depthOf()) >= before + 2, harness.timeoutMs, 'depth grown by two');
      expect((await bus.deadLetterDepth()).every((d) => !d.topic.endsWith('.dlq') && d.depth >= 0)).toBe(true);
    });

    it('shares partitions between members of a group: each event handled by exactly one', async () => {
      const { bus, run, group } = await setup();
      const other = await harness!.createBus();
      open.push(other);
      const byA: string[] = [];
      const byB: string[] = [];
      let a: Subscription | undefined;
      a = await bus.subscribe({ topic: TOPIC, group }, only(run, async (e) => (byA.push(e.id), done)));
      await other.subscribe({ topic: TOPIC, group }, only(run, async (e) => (byB.push(e.id), done)));
      const events = Array.from({ length: 40 }, (_, n) => uploadEvent(run, n, `${run}/${n}`));
      await bus.publish(events);
      await waitFor(() => new Set([...byA, ...byB]).size === 40, harness!.timeoutMs, 'all 40 by the two members');
      expect(new Set([...byA, ...byB])).toEqual(new Set(events.map((e) => e.id)));
      await a.stop();
      a = undefined;
    });

    it('keeps events across a restart of the client (durable, not in memory)', async () => {
      const { bus, run, group } = await setup();
      await bus.publish([uploadEvent(run, 1), uploadEvent(run, 2)]);
      await bus.close();
      const again = await harness!.createBus();
      open.push(again);
      const seen: string[] = [];
      await again.subscribe({ topic: TOPIC, group }, only(run, async (e) => (seen.push(e.payload.uploadId), done)));
      await waitFor(() => seen.length === 2, harness!.timeoutMs, 'both events after restart');
      expect(seen.sort()).toEqual([`${run}-1`, `${run}-2`]);
    });
  });
}

function sum(lag: readonly { lag: number }[]): number {
  return lag.reduce((total, p) => total + p.lag, 0);
}
