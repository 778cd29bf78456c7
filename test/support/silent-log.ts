import type { Log } from '../../src/runtime.ts';

/** A log that drops every line: for benches and tests that assert on other things. */
export const silentLog: Log = { info: () => {}, warning: () => {}, debug: () => {} };
