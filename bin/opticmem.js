#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`opticmem: ${error?.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
