#!/usr/bin/env node
/**
 * The monitor process: `node packages/mon/dist/main.js --id a --conf DIR/nacre.conf [--mkfs] …`.
 * Flags, settings and exit codes: daemon/daemon-args.ts and daemon/mon-process.ts; operator's
 * guide: docs/mon.md.
 */
import { runMonProcess } from './daemon/mon-process.js';

process.exitCode = await runMonProcess(process.argv.slice(2));
// A stopped monitor has closed everything it opened; exit now rather than wait for stray handles.
process.exit(process.exitCode);
