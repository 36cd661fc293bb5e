// `npm run bench:ingest`: the ingest benchmark alone, with its JSON written next to the other bench reports.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './ingest.bench.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const result = await run();
const out = path.resolve(here, '../../var/bench');
fs.mkdirSync(out, { recursive: true });
const file = path.join(out, `ingest-${Date.now()}.json`);
fs.writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), ingest: result }, null, 2));
console.log(`report: ${file}`);
