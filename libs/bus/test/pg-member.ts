// A PostgresBus group member in its own process, for the failover tests: it consumes until it
// is killed. Prints `ready` once subscribed. Each event of its run is applied through the inbox
// (@vigil/db handleOnce) as a row in `effects`, then printed as `applied <id>`; `slowMs` makes
// it slow enough to be killed mid-batch.
import { createPool, handleOnce } from '@vigil/db';
import { done } from '../src/bus.ts';
import { PostgresBus } from '../src/postgres-bus.ts';

const [url, group, run, slowMs = '0'] = process.argv.slice(2) as [string, string, string, string?];
const pool = createPool(url);
const bus = new PostgresBus({ pool, heartbeatIntervalMs: 200, sessionTimeoutMs: 2000, pollIntervalMs: 200 });
await bus.subscribe({ topic: 'upload.received.v1', group, concurrency: 2 }, async (event) => {
  if (event.traceId !== run) return done;
  await handleOnce(pool, group, event.id, async (client) => {
    await client.query('INSERT INTO effects (event_id, applied_by) VALUES ($1, $2)', [event.id, process.pid]);
  });
  process.stdout.write(`applied ${event.id}\n`);
  await new Promise((resolve) => setTimeout(resolve, Number(slowMs)));
  return done;
});
process.stdout.write('ready\n');
