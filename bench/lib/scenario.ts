// What bench/run.ts needs from a scenario module: a line saying what it
// measures, its options as node:util parseArgs takes them, and its main.

import type { ParseArgsConfig } from 'node:util';

export type ScenarioOptions = NonNullable<ParseArgsConfig['options']>;

export interface Scenario {
  about: string;
  options: ScenarioOptions;
  main(argv: string[]): Promise<void>;
}
