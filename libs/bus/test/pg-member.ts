// A PostgresBus group member in its own process, for the failover test: it consumes until it is
// killed. Prints `ready` once subscribed and `applied <id>` per event of its run.
import { done } from '../src/bus.ts';
import { PostgresBus } from '../src/postgres-bus.ts';

const [url, group, run] = process.argv.slice(2) as [string, string, string];
const bus = new PostgresBus({ connectionString: url, heartbeatIntervalMs: 200, sessionTimeoutMs: 2000, pollIntervalMs: 200 });
await bus.subscribe({ topic: 'upload.received.v1', group }, async (event) => {
  if (event.traceId === run) process.stdout.write(`applied ${event.id}\n`);
  return done;
});
process.stdout.write('ready\n');
