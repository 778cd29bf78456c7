import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFailure as describeEntryFailure, versionHint } from '../../../src/step/advice.ts';
import type { ActionInputs } from '../../../src/inputs/read.ts';
import { readInputs } from '../../../src/inputs/read.ts';
import { KlingApiError } from '../../../src/kling/errors.ts';
import { DeadlineError } from '../../../src/net/http.ts';
import { DownloadError } from '../../../src/task/download.ts';
import { MissingResultError } from '../../../src/task/files.ts';
import { TaskFailedError } from '../../../src/task/run-task.ts';
import type { TaskOutcome } from '../../../src/task/task.ts';
import { TaskTimeoutError } from '../../../src/task/wait.ts';
import { succeededTask, task } from '../../support/fakes.ts';

const inputs = (given: Record<string, string> = {}) => {
  const all: Record<string, string> = {
    video_url: 'https://cdn.example.com/clip.mp4',
    api_key: 'sk',
    ...given,
  };
  return readInputs((name) => all[name] ?? '', path.resolve('/ws'));
};
/** The failure as the step describes it for the step's only entry. */
const describeFailure = (o: TaskOutcome, i: ActionInputs) => describeEntryFailure(o, i.entries[0]!, i);

const outcome = (error: unknown, extra: Partial<TaskOutcome> = {}): TaskOutcome => ({
  ending: 'failed',
  resumed: false,
  files: [],
  error,
  ...extra,
});

describe('describeFailure: the step names the input to change', () => {
  it('an auth failure names the credential inputs', () => {
    const error = new KlingApiError({
      operation: 'Create task',
      status: 401,
      klingCode: 1000,
      requestId: 'r-1',
    });
    const message = describeFailure(outcome(error), inputs());
    expect(message).toMatch(/^Create task failed \[Kling code 1000, HTTP 401\]: authentication failed\. /);
    expect(message).toContain('the api_key secret');
    expect(message).toContain('access_key + secret_key for provider: kling');
    expect(message).toMatch(/\(request id r-1\)$/);
  });

  it('an unreachable host names base_url and its value', () => {
    const error = new KlingApiError({
      operation: 'Query task 1',
      transport: 'refused',
      message: 'ECONNREFUSED',
    });
    const message = describeFailure(outcome(error), inputs({ base_url: 'https://proxy.example.com' }));
    expect(message).toContain('check base_url (https://proxy.example.com)');
  });

  it('a wrong route names base_url, with a hint when it ends in /v1', () => {
    const error = new KlingApiError({ operation: 'Create task', status: 404, message: 'Not Found' });
    const message = describeFailure(outcome(error), inputs({ base_url: 'https://api.cometapi.com/v1' }));
    expect(message).toContain('Check base_url (https://api.cometapi.com/v1)');
    expect(message).toContain("It holds the API's version path");
  });

  it('a task id that is not found, when attaching, names task_id', () => {
    const error = new KlingApiError({ operation: 'Query task 9', status: 404, klingCode: 1203 });
    expect(describeFailure(outcome(error), inputs({ video_url: '', task_id: '9' }))).toContain(
      'Check task_id',
    );
  });

  it('an answer that is not a task names what came, and not base_url', () => {
    const error = new KlingApiError({
      operation: 'Query task 7',
      status: 200,
      malformed: true,
      notATask: 'its data is null',
    });
    const message = describeFailure(outcome(error), inputs());
    expect(message).toContain('not with a task: its data is null');
    expect(message).not.toContain('base_url');
  });

  it('a failed task says how to try again, by who chose the external id', () => {
    const failed = new TaskFailedError(task({ status: 'failed', statusMessage: 'risk control' }));
    expect(describeFailure(outcome(failed), inputs())).toMatch(/a re-run submits a fresh task/);
    expect(describeFailure(outcome(failed), inputs({ external_task_id: 'mine' }))).toMatch(
      /set a new external_task_id/,
    );
  });

  it('a timeout says how to resume with task_id, or to raise timeout_seconds', () => {
    const running = task({ taskId: '123', status: 'processing' });
    const message = describeFailure(
      outcome(new TaskTimeoutError(running, 60_000), { task: running }),
      inputs(),
    );
    expect(message).toContain('`task_id: 123`');
    expect(message).toContain('raise timeout_seconds');
  });

  it('a download cut by the deadline after success says how to collect the files', () => {
    const done = succeededTask({ taskId: '55' });
    const error = new DownloadError('Download failed: it did not complete before the deadline', false, {
      deadline: true,
    });
    const message = describeFailure(
      outcome(error, { task: done, ending: 'timeout' }),
      inputs({ timeout_seconds: '30' }),
    );
    expect(message).toContain('Task 55 succeeded');
    expect(message).toContain('`task_id: 55`');
    expect(message).toContain('timeout_seconds (30 s)');
  });

  it('a download that failed after the task succeeded says how to collect the files', () => {
    const done = succeededTask({ taskId: '66' });
    const error = new DownloadError('Download of the mp3 file failed: the server answered HTTP 503', false);
    const message = describeFailure(outcome(error, { task: done }), inputs());
    expect(message).toContain('Task 66 succeeded');
    expect(message).toContain('`task_id: 66`');
  });

  it('a request cut by the deadline while the task runs names it and how to resume', () => {
    const running = task({ taskId: '77', status: 'processing' });
    const message = describeFailure(outcome(new DeadlineError('The request'), { task: running }), inputs());
    expect(message).toContain('while task 77 was processing');
    expect(message).toContain('`task_id: 77`');
  });

  it('a create cut by the deadline says a re-run finds the task by its external id', () => {
    const message = describeFailure(
      outcome(new DeadlineError('The request'), { externalTaskId: 'gha-1' }),
      inputs(),
    );
    expect(message).toContain('a re-run of this job finds that task (external id gha-1)');
  });

  it('a request cut by the deadline before any task says how to go on', () => {
    expect(describeFailure(outcome(new DeadlineError('The request')), inputs())).toMatch(
      /Raise timeout_seconds, or re-run/,
    );
  });

  it('a missing result suggests the other audio format', () => {
    const t = succeededTask({ audio: { mp3Url: undefined } });
    expect(describeFailure(outcome(new MissingResultError(t, 'mp3')), inputs())).toContain(
      'Try audio_format: wav.',
    );
  });
});

describe('versionHint', () => {
  it('speaks only when the path holds the version, and names the address to use', () => {
    expect(versionHint('https://api.cometapi.com')).toBe('');
    expect(versionHint('https://api.cometapi.com/')).toBe('');
    expect(versionHint('https://gateway.example.com/kling')).toBe('');
    expect(versionHint('https://api.cometapi.com/v1')).toMatch(/use https:\/\/api\.cometapi\.com\.$/);
    // CometAPI's /kling prefix goes too: the action adds /kling/v1 for provider cometapi.
    expect(versionHint('https://api.cometapi.com/kling/v1')).toMatch(/use https:\/\/api\.cometapi\.com\.$/);
    expect(versionHint('https://gw.example.com/proxy/v1/audio')).toMatch(
      /use https:\/\/gw\.example\.com\/proxy\.$/,
    );
  });
});
