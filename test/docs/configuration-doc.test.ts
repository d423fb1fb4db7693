// docs/configuration.md is generated (npm run docs); this keeps it in step
// with the option list in gateway/config-options.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configurationMarkdown } from '../../gateway/config-docs.js';
import { envName, flagName, OPTION_SPECS } from '../../gateway/config-options.js';

const DOC = join(import.meta.dirname, '..', '..', 'docs', 'configuration.md');

describe('docs/configuration.md', () => {
  it('is what `npm run docs` generates from the option list (run it after changing an option)', () => {
    expect(readFileSync(DOC, 'utf8')).toBe(configurationMarkdown());
  });

  it('has a row for every option, with its flag, variable, key and default', () => {
    const rows = configurationMarkdown()
      .split('\n')
      .filter((line) => line.startsWith('| `--'))
      .map((line) => line.split(' | ').map((cell) => cell.replace(/^\|/, '').trim()));
    for (const spec of OPTION_SPECS) {
      const row = rows.find((cells) => cells[0] === `\`--${flagName(spec.key)}\``);
      expect(row?.slice(1, 4), spec.key).toEqual([
        `\`${envName(spec.key)}\``,
        `\`${spec.key}\``,
        spec.default === '' ? '(none)' : `\`${String(spec.default)}\``,
      ]);
    }
    expect(rows).toHaveLength(OPTION_SPECS.length);
  });
});
