// `npm run bench`: runs every compiled bench/*.bench.js in turn and writes one JSON report. Each benchmark
// measures its own baseline in the same run and reports ratios, so numbers from different machines compare.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const files = fs
    .readdirSync(here)
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
    .sort();
  const report: Record<string, unknown> = { date: new Date().toISOString(), cpus: (await import('node:os')).cpus().length };
  for (const file of files) {
    const name = file.replace(/\.bench\.js$/, '');
    console.log(`\n== ${name} ==`);
    try {
      const module = (await import(pathToFileURL(path.join(here, file)).href)) as { run(): Promise<Record<string, unknown>> };
      report[name] = await module.run();
    } catch (error) {
      console.error(`${name}: ${error instanceof Error ? error.stack : String(error)}`);
      report[name] = { error: String(error) };
      process.exitCode = 1;
    }
  }
  const out = path.resolve(here, '../../var/bench');
  fs.mkdirSync(out, { recursive: true });
  const file = path.join(out, `bench-${Date.now()}.json`);
  fs.writeFileSync(file, JSON.stringify(report, null, 2));
  console.log(`\nreport: ${file}`);
}

void main();
