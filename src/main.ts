/**
 * The step, top to bottom: inputs → sources → cache → tasks → after the tasks (mux) → deliveries →
 * outputs and summary.
 * Everything that touches the outside world arrives in `StepDependencies`, so the step runs in tests
 * without a runner, and several steps can run side by side in one process. Each stage gets only
 * what it uses.
 */
import { tmpdir } from 'node:os';
import { muxResults } from './after/mux.ts';
import type { StepDependencies } from './dependencies.ts';
import { artifactDelivery } from './deliver/artifact.ts';
import { deliverAll } from './deliver/delivery.ts';
import { commentDelivery } from './deliver/pr-comment.ts';
import { releaseDelivery } from './deliver/release.ts';
import { findFiles } from './inputs/files.ts';
import { inputWarnings, InputError, readInputs, secretInputs, type ActionInputs } from './inputs/read.ts';
import { isLoopbackHost } from './net/address.ts';
import { policy } from './policy.ts';
import { StepReport } from './report/step-report.ts';
import type { Ending } from './report/task-report.ts';
import { checkSources } from './sources/check.ts';
import { Staging } from './sources/stage.ts';
import { describeSource } from './sources/source.ts';
import { endingOf } from './step/advice.ts';
import { ResultCache } from './step/cache.ts';
import { connectKling } from './step/kling.ts';
import { guardSecrets, redactOutcome } from './step/secrets.ts';
import { runTasks } from './step/tasks.ts';

export type { RunContext, StepDependencies } from './dependencies.ts';

export interface StepResult {
  /** Work was given up but may still run (an upload the client cannot cancel): exit, do not wait for it. */
  abandonedWork: boolean;
}

export async function runStep(world: StepDependencies): Promise<StepResult> {
  // From here on every text the step writes goes through the redactor that `mask` feeds.
  const { deps, redactor } = guardSecrets(world);
  // Before anything can log: the runner then masks these in every line after.
  for (const secret of secretInputs(deps.getInput)) deps.mask(secret);
  let inputs: ActionInputs;
  try {
    const { workspace } = deps.run;
    const read = readInputs(deps.getInput, workspace, deps.env);
    // Files on the runner are found (and hashed) before any request, like every other input.
    inputs = await findFiles(read, { workspace, runnerTemp: deps.env['RUNNER_TEMP'] });
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    deps.fail(error.message);
    return { abandonedWork: false };
  }
  for (const warning of inputWarnings(inputs)) deps.log.warning(warning);

  const { clock, signal, run } = deps;
  const startedMs = clock.now();
  const deadlineMs = startedMs + inputs.timeoutSeconds * 1000;
  const allowHttpResults = isLoopbackHost(new URL(inputs.baseUrl).hostname);
  const redact = (text: string) => redactor.redact(text);
  const labels = inputs.entries.map((entry) => {
    const { text, description } = describeSource(entry.source);
    return { name: entry.name, source: text, description };
  });
  const report = new StepReport(deps.outputs, labels, inputs.batch, {
    provider: inputs.provider,
    audioFormat: inputs.audioFormat,
    allowHttpResults,
    clock,
    startedMs,
    workspace: run.workspace,
    redact,
  });
  let abandonedWork = false;
  const onAbandoned = () => (abandonedWork = true);
  const { sleep, random, log, fetch } = deps;
  const retry = { clock, sleep, random, log, signal, schedule: policy.retry.schedule };
  // With the cache on, every entry says whether its result came from it.
  if (inputs.cache) for (const entry of report.entries) entry.cacheHit(false);

  let endings: Ending[] = inputs.entries.map(() => ({ kind: 'failed', message: 'the step ended early' }));
  let stepEnding: Ending | undefined;
  try {
    const checks = await checkSources(inputs.entries, {
      enabled: inputs.preflight,
      fetch,
      clock,
      log,
      signal,
      deadlineMs,
    });
    const infos = checks.map((c) => c.info);
    const cache = new ResultCache(inputs.entries, infos, inputs, {
      store: deps.cache,
      workspace: run.workspace,
      clock,
      log,
      signal,
      deadlineMs,
      onAbandoned,
    });
    const { userAgent, mask } = deps;
    const staging = new Staging(inputs.staging, {
      ...retry,
      fetch,
      env: deps.env,
      mask,
      userAgent,
      deadlineMs,
      saveState: (name, value) => deps.outputs.saveState(name, value),
    });
    const api = { ...retry, fetch, userAgent, mask, redact };
    const tasks = await runTasks(inputs, {
      ...retry,
      client: connectKling(inputs, api),
      staging,
      fetch,
      run,
      startedMs,
      deadlineMs,
      allowHttpResults,
      report,
      cache,
      refused: checks.map((c) => c.refusal),
    });
    // Tasks not waited for may still fetch what was staged for them.
    await staging.finish(!inputs.wait);
    const outcomes = await muxResults(tasks, inputs, {
      ...retry,
      fetch,
      deadlineMs,
      allowHttpResults,
      reports: report.entries,
      tempDir: tmpdir(),
    });
    // The cache keeps a manifest of the task as the API described it: a file like any other. A paid
    // result whose mux failed is kept without it: a later run muxes again instead of paying again.
    const saved = outcomes.map((outcome, i) => (outcome.ending === 'succeeded' ? outcome : tasks[i]!));
    await cache.save(saved.map((outcome) => redactOutcome(redactor, outcome)));
    endings = outcomes.map((outcome, i) => endingOf(outcome, inputs.entries[i]!, inputs, signal));
    const deliveries = [
      artifactDelivery(inputs, { store: deps.artifacts, run }),
      releaseDelivery(inputs, deps.github),
      commentDelivery(inputs, deps.github, run),
    ];
    const files = outcomes.flatMap((outcome) => outcome.files);
    stepEnding = await deliverAll(deliveries, {
      ...retry,
      outcomes,
      endings,
      files,
      report,
      deadlineMs,
      onAbandoned,
    });
  } catch (error) {
    stepEnding = { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
  } finally {
    report.publishResults(endings);
    const ok = (e: Ending | undefined) => !e || e.kind === 'succeeded' || e.kind === 'submitted';
    if (!ok(stepEnding) || !endings.every(ok)) deps.fail(report.failureMessage(endings, stepEnding));
    await deps.writeSummary(report.summary(endings, stepEnding)).catch((error: unknown) => {
      deps.log.warning(`Could not write the job summary: ${(error as Error).message}`);
    });
  }
  return { abandonedWork };
}
