/**
 * Before any task is paid for: each source the preflight can read is checked (reachable, MP4 or MOV,
 * size, duration). A source that cannot work ends its entry with no task; a host that will not answer
 * the check only gets a warning, and the create goes ahead.
 */
import { Inputs } from '../constants.ts';
import { quoteExternal } from '../net/external-text.ts';
import type { FetchLike } from '../net/http.ts';
import { policy } from '../policy.ts';
import { checkSource, type SourceInfo, type SourceVerdict } from '../preflight/check-source.ts';
import { checkLocalFile } from '../preflight/local.ts';
import { Gate, type Clock, type Log } from '../runtime.ts';
import { describeSource, type Entry } from './source.ts';

/** The source was checked and cannot work: no task is created for it. */
export class SourceRefusedError extends Error {
  constructor(url: string, reason: string) {
    const { minSeconds, maxSeconds, maxBytes } = policy.preflight;
    super(
      `The video ${quoteExternal(url, 200)} cannot work: ${reason}. No task was created. ` +
        `Fix the video (MP4 or MOV, ${minSeconds}–${maxSeconds} s, at most ${maxBytes / 1e6} MB), ` +
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

export interface CheckContext {
  /** `preflight` is on. */
  enabled: boolean;
  fetch: FetchLike;
  clock: Clock;
  log: Log;
  signal: AbortSignal;
  deadlineMs: number;
}

/** One result per entry, in input order: empty where nothing was checked. */
export async function checkSources(entries: readonly Entry[], context: CheckContext): Promise<SourceCheck[]> {
  if (!context.enabled) return entries.map(() => ({}));
  const places = new Gate(policy.preflight.concurrency);
  return Promise.all(
    entries.map(async (entry) => {
      const { remoteUrl, file } = describeSource(entry.source);
      if (remoteUrl === undefined && file === undefined) return {};
      // Cancelled while waiting: the pool then ends the entry as not started.
      const release = await places.acquire(context.signal).catch(() => undefined);
      if (!release) return {};
      try {
        if (file)
          return judge(
            file.path,
            await checkLocalFile(file.absolute, policy.preflight, context.signal),
            context.log,
          );
        return judge(remoteUrl!, await check(remoteUrl!, context), context.log);
      } catch (error) {
        if (context.signal.aborted) return {};
        throw error;
      } finally {
        release();
      }
    }),
  );
}

function check(url: string, context: CheckContext): Promise<SourceVerdict> {
  const deadlineMs = Math.min(context.deadlineMs, context.clock.now() + policy.preflight.checkTimeoutMs);
  return checkSource(url, { ...context, deadlineMs, limits: policy.preflight });
}

/** `where` is the URL or the path as written. */
function judge(url: string, verdict: SourceVerdict, log: Log): SourceCheck {
  if (verdict.kind === 'unworkable') return { refusal: new SourceRefusedError(url, verdict.reason) };
  if (verdict.kind === 'unknown') {
    log.warning(
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
  log.info(`Checked the video ${quoteExternal(url, 200)}: ${facts.join(', ')}.`);
  return { info: verdict.info };
}
