// Writes infra/asyncapi.json from the catalog (npm run asyncapi -w @vigil/events).
import { writeFileSync } from 'node:fs';
import { asyncApiDocument } from './asyncapi.ts';

const target = new URL('../../../infra/asyncapi.json', import.meta.url);
writeFileSync(target, `${JSON.stringify(asyncApiDocument(), null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
