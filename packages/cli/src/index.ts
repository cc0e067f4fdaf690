/** @nacre/cli — the `nacre` command. */
export { run, type Command, type CommandIo } from './main.js';
