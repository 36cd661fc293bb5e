#!/usr/bin/env node
// `brainstrip <command> …`: each command lives in src/cli/<command>.ts and exports `run(argv): Promise<number>`.
// Commands are loaded on demand so that a one-shot tool does not pay for the DICOM server's imports.
// Every command may load ONNX Runtime; its telemetry is off before any of them does.
import './ort-env.js';
import { SchemaTooNewError } from './sqlite-schema.js';
import { BRAINSTRIP_VERSION, NODE_VERSION } from './version.js';

const commands: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  serve: { summary: 'start the DICOM node (SCP, job queue, pipeline, SCU, HTTP)', load: () => import('./cli/serve.js') },
  convert: { summary: 'DICOM series or NIfTI → NIfTI volume in patient space', load: () => import('./cli/convert.js') },
  register: { summary: 'rigid registration of a volume to the atlas', load: () => import('./cli/register.js') },
  extract: { summary: 'brain mask, skull-stripped image and QC picture for a volume', load: () => import('./cli/extract.js') },
  backup: { summary: 'consistent copy of the data folder while the node runs', load: () => import('./cli/backup.js') },
  config: { summary: 'check the configuration without starting the node; show each value and its source', load: () => import('./cli/config.js') },
  user: { summary: 'add or list users of the operations page', load: () => import('./cli/user.js') },
  cluster: { summary: "import a single node's state into a cluster's PostgreSQL database", load: () => import('./cli/cluster.js') },
  'evaluate-model': { summary: 'the model on every validation head (open-ms, held-out label maps): table and contact sheet', load: () => import('./cli/evaluate-model.js') },
  review: { summary: 'whether a brain mask needs a person to look at it (the node\'s review check), as JSON', load: () => import('./cli/review.js') },
  evaluate: { summary: 'Dice, HD95 and volumes of a brain mask against a reference mask', load: () => import('./cli/evaluate.js') },
  quantize: { summary: 'INT8 post-training quantization of a model, with accuracy-aware fallback', load: () => import('./cli/quantize.js') },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: brainstrip <command> [options]\n       brainstrip --version\n\ncommands:\n${lines.join('\n')}\n\nbrainstrip <command> --help for its options`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    console.log(`brainstrip ${BRAINSTRIP_VERSION} (Node.js ${NODE_VERSION})`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`brainstrip: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const module = await command.load();
  return module.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`brainstrip: ${error instanceof Error ? error.message : String(error)}`);
    // A configuration that is not valid, or a database of a newer release, cannot be fixed by starting again: exit
    // status 2, which the service unit does not restart on.
    process.exitCode = error instanceof Error && (error.name === 'ConfigError' || error instanceof SchemaTooNewError) ? 2 : 1;
  },
);
