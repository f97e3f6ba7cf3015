// A service-shaped process for the SIGTERM test: one slow handler, onShutdown wired as a
// composition root would. Prints `started <id>`, then `finished <id>` when the handler returns.
import { done } from '../src/bus.ts';
import { silentLogger } from '../src/logger.ts';
import { PostgresBus } from '../src/postgres-bus.ts';
import { onShutdown } from '../src/shutdown.ts';

const [url, group, run] = process.argv.slice(2) as [string, string, string];
const bus = new PostgresBus({ connectionString: url, heartbeatIntervalMs: 200, pollIntervalMs: 200 });
await bus.subscribe({ topic: 'upload.received.v1', group }, async (event) => {
  if (event.traceId !== run) return done;
  process.stdout.write(`started ${event.id}\n`);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  process.stdout.write(`finished ${event.id}\n`);
  return done;
});
onShutdown(silentLogger, [() => bus.close()]);
process.stdout.write('ready\n');
