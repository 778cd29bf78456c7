import { describe, expect, it } from 'vitest';
import {
  deriveExternalTaskId,
  externalIdCandidate,
  type RunIdentity,
} from '../../../src/task/external-id.ts';
import type { CreateTaskRequest } from '../../../src/kling/client.ts';

const RUN: RunIdentity = { repository: 'octo/app', runId: '123456789', job: 'soundtrack', step: 'kling' };
const REQUEST: CreateTaskRequest = {
  video_url: 'https://cdn.example.com/clip.mp4',
  sound_effect_prompt: 'rain',
  bgm_prompt: 'piano',
};
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

describe('deriveExternalTaskId', () => {
  it('is deterministic', () => {
    expect(deriveExternalTaskId(RUN, REQUEST)).toBe(deriveExternalTaskId({ ...RUN }, { ...REQUEST }));
  });

  it('starts with gha- and is a valid external id', () => {
    const id = deriveExternalTaskId(RUN, REQUEST);
    expect(id).toMatch(/^gha-[0-9a-f]{32}$/);
    expect(id).toMatch(ID_PATTERN);
    expect(externalIdCandidate(id, 9)).toMatch(ID_PATTERN);
  });

  it.each([
    ['repository', { ...RUN, repository: 'octo/other' }, REQUEST],
    ['run', { ...RUN, runId: '123456790' }, REQUEST],
    ['job', { ...RUN, job: 'other-job' }, REQUEST],
    ['step', { ...RUN, step: '__run_2' }, REQUEST],
    ['video_url', RUN, { ...REQUEST, video_url: 'https://cdn.example.com/other.mp4' }],
    [
      'video_id instead of video_url',
      RUN,
      { ...REQUEST, video_url: undefined, video_id: 'https://cdn.example.com/clip.mp4' },
    ],
    ['sound_effect_prompt', RUN, { ...REQUEST, sound_effect_prompt: 'thunder' }],
    ['bgm_prompt', RUN, { ...REQUEST, bgm_prompt: 'drums' }],
    ['a prompt moved between fields', RUN, { ...REQUEST, sound_effect_prompt: 'piano', bgm_prompt: 'rain' }],
    ['asmr_mode', RUN, { ...REQUEST, asmr_mode: true }],
  ] as [string, RunIdentity, CreateTaskRequest][])('differs when %s differs', (_label, run, request) => {
    expect(deriveExternalTaskId(run, request)).not.toBe(deriveExternalTaskId(RUN, REQUEST));
  });

  it('does not depend on the run attempt (a re-run finds the task it paid for)', () => {
    const attempt2 = { ...RUN, runAttempt: '2' } as RunIdentity;
    expect(deriveExternalTaskId(attempt2, REQUEST)).toBe(deriveExternalTaskId(RUN, REQUEST));
  });

  it('is not fooled by field boundaries (a|b + c vs a + b|c)', () => {
    const a = deriveExternalTaskId({ ...RUN, job: 'a', step: 'bc' }, REQUEST);
    const b = deriveExternalTaskId({ ...RUN, job: 'ab', step: 'c' }, REQUEST);
    expect(a).not.toBe(b);
  });

  it('treats asmr_mode false and absent alike', () => {
    expect(deriveExternalTaskId(RUN, { ...REQUEST, asmr_mode: false })).toBe(
      deriveExternalTaskId(RUN, REQUEST),
    );
  });
});

describe('externalIdCandidate', () => {
  it('yields id, id-2, id-3, …', () => {
    expect([0, 1, 2, 3].map((n) => externalIdCandidate('gha-abc', n))).toEqual([
      'gha-abc',
      'gha-abc-2',
      'gha-abc-3',
      'gha-abc-4',
    ]);
  });
});
