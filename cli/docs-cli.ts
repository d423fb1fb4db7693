// `npm run docs`: writes docs/configuration.md from the option list
// (gateway/config-docs.ts). test/docs/configuration-doc.test.ts checks it.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configurationMarkdown } from '../gateway/config-docs.js';

// build/cli/docs-cli.js → <project root>/docs/configuration.md
const target = fileURLToPath(new URL('../../docs/configuration.md', import.meta.url));
writeFileSync(target, configurationMarkdown());
process.stdout.write(`wrote ${target}\n`);
