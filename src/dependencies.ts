/** Everything the step touches in the outside world, injected so it runs in tests without a runner. */
import type { CacheStore } from './step/cache.ts';
import type { ArtifactStore } from './deliver/artifact.ts';
import type { GithubRun } from './deliver/github.ts';
import type { GetInput } from './inputs/read.ts';
import type { FetchLike } from './net/http.ts';
import type { OutputSink } from './report/task-report.ts';
import type { Clock, Log, Sleep } from './runtime.ts';
import type { RunIdentity } from './task/external-id.ts';

export interface RunContext extends RunIdentity {
  serverUrl: string;
  workspace: string;
  /** GITHUB_RUN_ATTEMPT: 1 on a run's first attempt; undefined when unknown. */
  attempt?: number;
}

export interface StepDependencies {
  getInput: GetInput;
  /** core.setSecret: masks a value in every later log line (the step also redacts it: step/secrets.ts). */
  mask: (secret: string) => void;
  outputs: OutputSink;
  writeSummary: (markdown: string) => Promise<void>;
  fail: (message: string) => void;
  log: Log;
  run: RunContext;
  /** The run as GitHub's API sees it: for the PR comment and release assets. */
  github: GithubRun;
  fetch: FetchLike;
  artifacts: ArtifactStore;
  /** The Actions cache (cache: true). */
  cache: CacheStore;
  clock: Clock;
  sleep: Sleep;
  random: () => number;
  /** Aborted by SIGINT/SIGTERM with a CancelledError reason. */
  signal: AbortSignal;
  userAgent: string;
  /** The step's environment: AWS_* credentials and AWS_REGION for staging, RUNNER_TEMP. */
  env: Readonly<Record<string, string | undefined>>;
}
