#!/usr/bin/env node
// The installed entry point: run the compiled CLI (built by `npm install` / `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(compiled)) {
  process.stderr.write(
    'wanji: the CLI is not built yet. Run `npm install` (or `npm run build`) in the Wanji folder first.\n',
  );
  process.exit(1);
}
const { runCli } = await import(compiled);
await runCli(process.argv.slice(2));
