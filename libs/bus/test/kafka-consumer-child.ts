// A KafkaBus group member in its own process, for the failover test: it consumes until killed.
// Applies its run's events through the Postgres inbox, slowly, so a SIGKILL lands mid-batch
// with events applied but not yet committed. Prints `ready` once subscribed, then per event of its
// run `applied <id>` (right after the atomic apply) or `duplicate <id>` (a redelivery, skipped).
// Usage: node --conditions=@vigil/source kafka-consumer-child.ts '<json ChildOptions>'

import { done } from '../src/bus.ts';
import { KafkaBus, type KafkaBusConfig } from '../src/kafka-bus.ts';
import { createPgInbox } from './pg-inbox.ts';
import { testLogger } from './kafka-test-logger.ts';

export interface ChildOptions {
  bus: KafkaBusConfig;
  topic: 'rescan.requested.v1';
  group: string;
  run: string;
  /** The database of the shared inbox. */
  inboxUrl: string;
  concurrency: number;
  /** Work after the apply and before the handler returns (publishing follow-ups, say). */
  afterApplyMs: number;
}

const options = JSON.parse(process.argv[2] ?? '') as ChildOptions;
const inbox = await createPgInbox(options.inboxUrl, options.group);
const bus = new KafkaBus(options.bus, testLogger({ child: process.pid }));
await bus.subscribe({ topic: options.topic, group: options.group, concurrency: options.concurrency }, async (event) => {
  if (event.traceId !== options.run) return done;
  const applied = await inbox.apply(event.id, `child:${process.pid}`);
  process.stdout.write(`${applied ? 'applied' : 'duplicate'} ${event.id}\n`);
  await new Promise((resolve) => setTimeout(resolve, options.afterApplyMs));
  return done;
});
process.stdout.write('ready\n');

