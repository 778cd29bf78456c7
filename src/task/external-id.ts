import { createHash } from 'node:crypto';
import type { CreateTaskRequest } from '../kling/client.ts';

/** The parts of the run that make a step's task unique, and stable across re-run attempts. */
export interface RunIdentity {
  repository: string;
  runId: string;
  job: string;
  /** GITHUB_ACTION: the step's id, or the runner's generated name for steps without one. */
  step: string;
}

/**
 * A stable external_task_id: the same step of the same run with the same request always derives the
 * same id (so a re-run attempt finds the task it paid for); matrix legs differ by their request.
 * Run attempt is deliberately left out.
 */
export function deriveExternalTaskId(
  run: RunIdentity,
  request: CreateTaskRequest,
  position?: number,
): string {
  const fields = [
    // A list's entries differ by position too (the step gives entries that are alike one task).
    ...(position === undefined ? [] : [`entry ${position}`]),
    run.repository,
    run.runId,
    run.job,
    run.step,
    request.video_url ?? '',
    request.video_id ?? '',
    request.sound_effect_prompt ?? '',
    request.bgm_prompt ?? '',
    String(request.asmr_mode ?? false),
  ];
  const digest = createHash('sha256').update(JSON.stringify(fields)).digest('hex');
  return `gha-${digest.slice(0, 32)}`;
}

/**
 * When the task behind a derived id failed, a re-run should get a fresh attempt rather than the same
 * failure: ids are tried in order (`id`, `id-2`, `id-3`, ...) until one is unused or not failed.
 */
export function externalIdCandidate(base: string, n: number): string {
  return n === 0 ? base : `${base}-${n + 1}`;
}
