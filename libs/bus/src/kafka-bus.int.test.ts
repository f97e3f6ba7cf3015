// KafkaBus against a real Kafka protocol endpoint (KAFKA_BROKERS, a container, or the librdkafka
// mock cluster): the shared Bus contract, plus what only Kafka has (headers, topic setup).

import { createEvent } from '@vigil/events';
import { kafkaTimings, resolveKafka, type KafkaService } from '@vigil/testkit/services';
import kafkajs from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { deadLetter, done } from './bus.ts';
import { busContract, uploadEvent, waitFor } from './bus.contract.ts';
import { EventHeaders } from './kafka-codec.ts';
import { KafkaBus, type KafkaBusConfig } from './kafka-bus.ts';
import { testLogger } from '../test/kafka-test-logger.ts';

const kafka = await resolveKafka({ suite: 'KafkaBus integration (libs/bus/src/kafka-bus.int.test.ts)' });

function busConfig(service: KafkaService): KafkaBusConfig {
  return { brokers: service.brokers, clientId: 'vigil-contract', ...kafkaTimings(service.source), restartDelayMs: { initial: 200, max: 2000 } };
}

describe.skipIf(!kafka.available)('KafkaBus', () => {
  const service = kafka.available ? kafka.service : (undefined as never);

  busContract('KafkaBus', async () => {
    const raw = new kafkajs.Kafka({ brokers: [...service.brokers], clientId: 'raw', logLevel: kafkajs.logLevel.NOTHING });
    const producer = raw.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await producer.connect();
    return {
      createBus: async (options = {}) => new KafkaBus({ ...busConfig(service), ...options }, testLogger()),
      publishRaw: async (topic, key, value) => {
        await producer.send({ topic, acks: -1, messages: [{ key, value: Buffer.from(value) }] });
      },
      timeoutMs: 30_000,
      close: async () => {
        await producer.disconnect();
      },
    };
  });

  describe('Kafka specifics', () => {
    const bus = new KafkaBus(busConfig(service), testLogger({ bus: 'specifics' }));
    afterAll(async () => {
      await bus.close();
      await service.close();
    });

    it('puts the envelope in the value and its routing fields in headers, keyed by the partition key', async () => {
      const run = `headers-${Date.now()}`;
      const event = uploadEvent(run, 1, `${run}/object`);
      const timings = kafkaTimings(service.source);
      await bus.publish([event]);
      const reader = new kafkajs.Kafka({ brokers: [...service.brokers], logLevel: kafkajs.logLevel.NOTHING }).consumer({
        groupId: `raw-${run}`,
        sessionTimeout: timings.sessionTimeoutMs,
        heartbeatInterval: timings.heartbeatIntervalMs,
        rebalanceTimeout: timings.rebalanceTimeoutMs,
        maxWaitTimeInMs: timings.maxWaitTimeMs,
      });
      const seen: kafkajs.KafkaMessage[] = [];
      await reader.connect();
      await reader.subscribe({ topic: event.type, fromBeginning: true });
      await reader.run({
        eachMessage: async ({ message }) => {
          if (message.key?.toString() === event.key) seen.push(message);
        },
      });
      try {
        await waitFor(() => seen.length === 1, 30_000, 'the raw record');
      } finally {
        await reader.disconnect();
      }
      const [message] = seen;
      expect(JSON.parse(message!.value!.toString())).toEqual(event);
      expect(message!.headers?.[EventHeaders.id]?.toString()).toBe(event.id);
      expect(message!.headers?.[EventHeaders.type]?.toString()).toBe('upload.received.v1');
      expect(message!.headers?.[EventHeaders.traceId]?.toString()).toBe(run);
    });

    it('ensureTopics tolerates a cluster that refuses CreateTopics when the topics exist, and names missing ones', async () => {
      await expect(bus.ensureTopics(['upload.received.v1', 'rescan.requested.v1'])).resolves.toBeUndefined();
      if (service.source === 'stand-in') {
        // The mock cannot create topics through the admin API: a missing one is an error, by name.
        await expect(bus.ensureTopics(['nowhere.v1'])).rejects.toThrow(/nowhere\.v1/);
      }
    });

    it('reads dead letters in partition order with a limit, reusing its joined reader', async () => {
      const run = `dlq-${Date.now()}`;
      const key = `${run}/same`;
      const events = Array.from({ length: 5 }, (_, n) => uploadEvent(run, n, key));
      const sub = await bus.subscribe({ topic: 'upload.received.v1', group: `g-${run}` }, async (event) =>
        event.traceId === run ? deadLetter(`no ${event.payload.uploadId}`) : done,
      );
      await bus.publish(events);
      const mine = async (limit?: number) =>
        (await bus.readDeadLetters('upload.received.v1', limit === undefined ? {} : { limit }))
          // The group parks the contract's poison too (every group that meets poison does): ours only.
          .filter((l) => l.group === `g-${run}` && l.reason === 'rejected');
      await waitFor(async () => (await mine()).length === 5, 30_000, 'five dead letters');
      await sub.stop();
      const started = Date.now();
      const all = await mine(10_000);
      const rereadMs = Date.now() - started;
      // One key, one DLQ partition: the letters keep the events' order.
      expect(all.map((l) => l.message)).toEqual(events.map((e) => `no ${e.payload.uploadId}`));
      expect(all.map((l) => JSON.parse(Buffer.from(l.value!).toString()).id)).toEqual(events.map((e) => e.id));
      expect(all.every((l) => l.key === events[0]!.key && l.reason === 'rejected' && l.attempts === 1)).toBe(true);
      // A joined reader answers without another group join (seconds on the mock).
      expect(rereadMs).toBeLessThan(2000);
      const everything = await bus.readDeadLetters('upload.received.v1.dlq', { limit: 10_000 });
      expect((await bus.readDeadLetters('upload.received.v1', { limit: 2 })).length).toBe(Math.min(2, everything.length));
    });

    it('publishes every event of a mixed batch to the topic named by its type', async () => {
      const run = `mixed-${Date.now()}`;
      const rescan = createEvent(
        'rescan.requested.v1',
        { rescanId: run, object: { tenantId: 't', bucket: 'b', key: run, size: 1 }, reason: 'operator', requestedBy: 'ops', requestedAt: '2026-11-21T10:00:00.000Z' },
        { producer: 'test', traceId: run },
      );
      const before = await bus.lag([{ group: `never-${run}`, topic: 'rescan.requested.v1' }]);
      await bus.publish([uploadEvent(run, 1), rescan]);
      const after = await bus.lag([{ group: `never-${run}`, topic: 'rescan.requested.v1' }]);
      const total = (lag: typeof before): number => lag.reduce((sum, p) => sum + p.lag, 0);
      expect(total(after) - total(before)).toBe(1);
      expect(after.every((p) => p.committed === null)).toBe(true);
    });
  });
});
