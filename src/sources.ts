/**
 * Before any task is paid for: each video_url is checked (reachable, MP4 or MOV, size, duration).
 * A source that cannot work ends its entry with no task; a host that will not answer the check only
 * gets a warning, and the create goes ahead.
 */
import { Inputs } from './constants.ts';
import type { StepDependencies } from './dependencies.ts';
import type { ActionInputs, Entry } from './inputs.ts';
import { quoteExternal } from './net/external-text.ts';
import { policy } from './policy.ts';
import { Gate } from './pool.ts';
import { checkSource, type SourceInfo, type SourceVerdict } from './preflight/check-source.ts';

/** The source was checked and cannot work: no task is created for it. */
export class SourceRefusedError extends Error {
  constructor(url: string, reason: string) {
    super(
      `The video ${quoteExternal(url, 200)} cannot work: ${reason}. No task was created. ` +
        `Fix the video (MP4 or MOV, ${policy.preflight.minSeconds}–${policy.preflight.maxSeconds} s, at most 100 MB), ` +
        `or set ${Inputs.Preflight}: false to skip this check.`,
    );
    this.name = 'SourceRefusedError';
  }
}

/** What the check found: why the source cannot work, or what it is (for the cache's key). */
export interface SourceCheck {
  refusal?: SourceRefusedError;
  info?: SourceInfo;
}

/** One result per entry, in input order: empty where nothing was checked. */
export async function checkSources(
  inputs: ActionInputs,
  deps: StepDependencies,
  deadlineMs: number,
): Promise<SourceCheck[]> {
  if (!inputs.preflight) return inputs.entries.map(() => ({}));
  const places = new Gate(policy.preflight.concurrency);
  return Promise.all(
    inputs.entries.map(async (entry) => {
      if (entry.source.kind !== 'video_url') return {};
      // Cancelled while waiting: the pool then ends the entry as not started.
      const release = await places.acquire(deps.signal).catch(() => undefined);
      if (!release) return {};
      try {
        return judge(entry, await check(entry.source.videoUrl, deps, deadlineMs), deps);
      } catch (error) {
        if (deps.signal.aborted) return {};
        throw error;
      } finally {
        release();
      }
    }),
  );
}

function check(url: string, deps: StepDependencies, deadlineMs: number): Promise<SourceVerdict> {
  const checkDeadline = Math.min(deadlineMs, deps.clock.now() + policy.preflight.checkTimeoutMs);
  return checkSource(url, {
    fetch: deps.fetch,
    clock: deps.clock,
    signal: deps.signal,
    deadlineMs: checkDeadline,
    limits: policy.preflight,
  });
}

function judge(entry: Entry, verdict: SourceVerdict, deps: StepDependencies): SourceCheck {
  const url = entry.source.kind === 'video_url' ? entry.source.videoUrl : entry.name;
  if (verdict.kind === 'unworkable') return { refusal: new SourceRefusedError(url, verdict.reason) };
  if (verdict.kind === 'unknown') {
    deps.log.warning(
      `Could not check the video ${quoteExternal(url, 200)} before submitting (${verdict.reason}); submitting it anyway.`,
    );
    return {};
  }
  const { durationSeconds, width, height, container } = verdict.info;
  const facts = [
    container.toUpperCase(),
    durationSeconds !== undefined ? `${durationSeconds.toFixed(1)} s` : undefined,
    width && height ? `${width}×${height}` : undefined,
  ].filter(Boolean);
  deps.log.info(`Checked the video ${quoteExternal(url, 200)}: ${facts.join(', ')}.`);
  return { info: verdict.info };
}
