/**
 * The runner's side of the step: wires @actions/core, signals, the proxy and the artifact client into
 * the step (main.ts). `run()` takes no arguments, as GitHub's template and @github/local-action expect.
 */
import * as core from '@actions/core';
import { Agent, EnvHttpProxyAgent, fetch as undiciFetch, setGlobalDispatcher } from 'undici';
import type { CacheStore } from './step/cache.ts';
import type { ArtifactStore } from './deliver/artifact.ts';
import type { FetchLike } from './net/http.ts';
import { githubRun } from './deliver/github.ts';
import { State } from './constants.ts';
import { runStep } from './main.ts';
import { removeLeftovers } from './sources/stage.ts';
import { policy } from './policy.ts';
import { proxyConfigured, proxySecrets } from './net/proxy.ts';
import { guardedLookup } from './net/address.ts';
import { neutralizeCommands } from './net/external-text.ts';
import { abortableSleep, CancelledError, limitTransientWarnings, systemClock } from './runtime.ts';
import packageJson from '../package.json' with { type: 'json' };

export async function run(): Promise<void> {
  // The runner runs the same entry again as the post step, with the state the main step saved.
  if (core.getState(State.IsPost) === 'true') return runPost();
  core.saveState(State.IsPost, 'true');
  const controller = new AbortController();
  for (const signalName of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signalName, () => {
      if (controller.signal.aborted) return;
      core.info(`Received ${signalName}: stopping.`);
      controller.abort(new CancelledError(signalName));
      setTimeout(() => process.exit(1), policy.cancel.exitWithinMs).unref();
    });
  }

  setUpNetwork();
  const env = process.env;
  const result = await runStep({
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
    log: runnerLog(),
    run: runIdentity(env),
    github: githubRun(env),
    // undici's own fetch, not Node's: @actions/core already loads this undici (through
    // @actions/http-client), and Node's built-in copy would be a second one to load before the first
    // request. package.json keeps ours on the same major, so the bundle holds one copy.
    fetch: undiciFetch as unknown as FetchLike,
    artifacts: lazyArtifactClient(),
    cache: lazyCache(),
    clock: systemClock,
    sleep: abortableSleep,
    random: Math.random,
    signal: controller.signal,
    userAgent: `kling-video-to-audio-action/${packageJson.version}`,
    env,
  }).catch((error: unknown) => {
    core.setFailed(error instanceof Error ? error.message : String(error));
    return { abandonedWork: false };
  });
  // After a cancellation or an abandoned upload, do not wait for work, sockets or timers left behind.
  if (controller.signal.aborted || result.abandonedWork) process.exit(process.exitCode ?? 1);
}

/** Before anything can log or connect: the proxy's password masked, every connection guarded. */
function setUpNetwork(): void {
  // An error quoting the proxy URL must not print its password.
  for (const secret of proxySecrets(process.env)) core.setSecret(secret);
  // Node's fetch ignores HTTPS_PROXY by itself; self-hosted runners behind a proxy need it. The
  // guarded lookup keeps every connection away from link-local and cloud metadata addresses.
  const connect = { lookup: guardedLookup };
  setGlobalDispatcher(
    proxyConfigured(process.env)
      ? withoutWarning('UNDICI-EHPA', () => new EnvHttpProxyAgent({ connect }))
      : new Agent({ connect }),
  );
}

function runnerLog() {
  const write = (message: string) => core.info(neutralizeCommands(message));
  return limitTransientWarnings(
    { info: write, warning: (m) => core.warning(m), debug: (m) => core.debug(m) },
    policy.retry.transientWarningAnnotations,
  );
}

/**
 * The post step: deletes what the main step staged and could not delete itself (the job was
 * cancelled, or the step died). It never fails the job: what it cannot delete is a warning.
 */
async function runPost(): Promise<void> {
  const staged = core.getState(State.Staged);
  if (!staged || staged === '[]') return;
  setUpNetwork();
  await removeLeftovers(staged, {
    fetch: undiciFetch as unknown as FetchLike,
    env: process.env,
    mask: (secret) => core.setSecret(secret),
    userAgent: `kling-video-to-audio-action/${packageJson.version}`,
    clock: systemClock,
    sleep: abortableSleep,
    random: Math.random,
    log: runnerLog(),
    signal: AbortSignal.timeout(policy.staging.postStepTimeoutMs),
    schedule: policy.retry.schedule,
  }).catch((error: unknown) => core.warning(`Could not clean up the staged videos: ${String(error)}`));
}

/**
 * undici 6 prints "EnvHttpProxyAgent is experimental" to stderr the first time one is made (undici 7
 * no longer does): a line in every proxied run's log that the user can do nothing about.
 */
function withoutWarning<T>(code: string, make: () => T): T {
  const emitWarning = process.emitWarning.bind(process);
  process.emitWarning = (warning: string | Error, ...rest: unknown[]) => {
    const options = rest[0];
    if (typeof options === 'object' && options !== null && 'code' in options && options.code === code) return;
    (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
  };
  try {
    return make();
  } finally {
    process.emitWarning = emitWarning;
  }
}

/**
 * The artifact client loads the Azure SDK: import it on first use, so a step's first request is not
 * held up by it (ncc emits the dynamic import as a chunk of its own).
 */
function lazyArtifactClient(): ArtifactStore {
  let client: Promise<ArtifactStore> | undefined;
  const load = () =>
    (client ??= import('@actions/artifact').then(({ DefaultArtifactClient }) => new DefaultArtifactClient()));
  return {
    uploadArtifact: async (...args) => (await load()).uploadArtifact(...args),
    deleteArtifact: async (name) => (await load()).deleteArtifact(name),
  };
}

/** @actions/cache, loaded only when a step asks for the cache. */
function lazyCache(): CacheStore {
  const load = () => import('@actions/cache');
  return {
    restore: async (paths, key) => (await load()).restoreCache(paths, key),
    save: async (paths, key) => (await load()).saveCache(paths, key),
  };
}

/** Read from the runner's GITHUB_* variables, as @actions/github's context does, without loading it. */
function runIdentity(env: NodeJS.ProcessEnv) {
  const attempt = Number(env.GITHUB_RUN_ATTEMPT || NaN);
  return {
    ...(Number.isInteger(attempt) && attempt >= 1 ? { attempt } : {}),
    repository: env.GITHUB_REPOSITORY ?? '',
    runId: env.GITHUB_RUN_ID ?? '',
    job: env.GITHUB_JOB ?? '',
    step: env.GITHUB_ACTION ?? '',
    serverUrl: env.GITHUB_SERVER_URL || 'https://github.com',
    workspace: env.GITHUB_WORKSPACE || process.cwd(),
  };
}
