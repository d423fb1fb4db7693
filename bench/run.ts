#!/usr/bin/env node
// npm run bench -- <scenario> [options]. Benchmarks measure; tests check.
import { runBench } from './lib/bench-cli.js';
import { SCENARIOS } from './scenarios.js';

process.exitCode = await runBench(process.argv.slice(2), process, SCENARIOS);
