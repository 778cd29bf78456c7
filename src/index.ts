/** Entry point: wires the runner (core, signals, proxy, artifact client) to run(). */
import * as core from '@actions/core';
import { DefaultArtifactClient } from '@actions/artifact';
import { context } from '@actions/github';
import { EnvHttpProxyAgent, setGlobalDispatcher } from 'undici';
import { run } from './main.ts';
import { proxyConfigured, proxySecrets } from './proxy.ts';
import { abortableSleep, CancelledError, limitTransientWarnings, systemClock } from './runtime.ts';
import packageJson from '../package.json' with { type: 'json' };

/** Of the 10 warning annotations the runner shows per step, retry notices may use this many. */
const TRANSIENT_WARNING_ANNOTATIONS = 5;

/** The runner sends SIGINT, then SIGTERM 7.5 s later, then kills: finish well inside that. */
const EXIT_WITHIN_MS = 5_000;

const controller = new AbortController();
for (const signalName of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signalName, () => {
    if (controller.signal.aborted) return;
    core.info(`Received ${signalName}: stopping.`);
    controller.abort(new CancelledError(signalName));
    setTimeout(() => process.exit(1), EXIT_WITHIN_MS).unref();
  });
}

// Node's fetch ignores HTTPS_PROXY by itself; self-hosted runners behind a proxy need it.
for (const secret of proxySecrets(process.env)) core.setSecret(secret);
if (proxyConfigured(process.env)) setGlobalDispatcher(new EnvHttpProxyAgent());

const env = process.env;
await run({
  getInput: (name) => core.getInput(name),
  mask: (secret) => core.setSecret(secret),
  outputs: {
    setOutput: (name, value) => core.setOutput(name, value),
    saveState: (name, value) => core.saveState(name, value),
  },
  writeSummary: async (markdown) => {
    if (!env.GITHUB_STEP_SUMMARY) return;
    await core.summary.addRaw(markdown, true).write();
  },
  fail: (message) => core.setFailed(message),
  log: limitTransientWarnings(
    { info: core.info, warning: (m) => core.warning(m), debug: core.debug },
    TRANSIENT_WARNING_ANNOTATIONS,
  ),
  run: {
    repository: env.GITHUB_REPOSITORY ?? '',
    runId: env.GITHUB_RUN_ID ?? '',
    job: context.job ?? '',
    step: context.action ?? '',
    serverUrl: context.serverUrl,
    workspace: env.GITHUB_WORKSPACE || process.cwd(),
  },
  fetch: (input, init) => fetch(input, init),
  artifacts: new DefaultArtifactClient(),
  clock: systemClock,
  sleep: abortableSleep,
  random: Math.random,
  signal: controller.signal,
  userAgent: `kling-video-to-audio-action/${packageJson.version}`,
}).catch((error: unknown) => {
  core.setFailed(error instanceof Error ? error.message : String(error));
});
// After a cancellation, do not wait for stray keep-alive sockets or timers.
if (controller.signal.aborted) process.exit(process.exitCode ?? 1);
