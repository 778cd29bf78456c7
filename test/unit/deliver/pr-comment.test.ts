import { describe, expect, it } from 'vitest';
import type { GithubRun } from '../../../src/deliver/github.ts';
import { commentMarker } from '../../../src/deliver/pr-comment.ts';

describe('commentMarker', () => {
  const run: GithubRun = {
    apiUrl: 'https://api.github.com',
    owner: 'o',
    repo: 'r',
    eventName: 'pull_request',
    pullRequest: 7,
    workflowRef: 'o/r/.github/workflows/preview.yml',
    job: 'preview',
    step: 'sound',
  };

  it('belongs to the workflow, the job and the step, and stays an HTML comment whatever they hold', () => {
    expect(commentMarker(run)).toBe(
      '<!-- kling-video-to-audio: o/r/.github/workflows/preview.yml / preview / sound -->',
    );
    expect(commentMarker({ ...run, step: 'other' })).not.toBe(commentMarker(run));
    const hostile = commentMarker({ ...run, job: 'x --> <img src=x>' });
    expect(hostile.indexOf('-->')).toBe(hostile.length - 3);
    expect(hostile).not.toContain('<img');
  });
});
