#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

// A store's native layer (LanceDB, in Rust) prints a backtrace on stderr when it meets a damaged
// file and RUST_BACKTRACE asks for one, before the command reports the typed StoreError. The CLI
// keeps stderr to that one error unless OPTICMEM_DEBUG is set. Read when the first panic happens,
// so setting it here (native code is loaded lazily, later) takes effect.
if (!process.env.OPTICMEM_DEBUG) process.env.RUST_BACKTRACE = '0';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`opticmem: ${error?.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
