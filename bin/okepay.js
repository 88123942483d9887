#!/usr/bin/env node
// `npx okepay <command>`: runs the TypeScript CLI through tsx, so the CLI, the local pipeline and the
// Lambda handlers share one source tree with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./okepay.ts');
process.exitCode = await main(process.argv.slice(2));
