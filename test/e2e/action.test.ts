// The built action, run as the runner runs it, against the emulator and the results-service fake.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readZip } from '../emulator/results-service.ts';
import { errorMessage, routeRequests, startWorld, type World } from './world.ts';
import { ACTION_TEST_TIMEOUT_MS } from '../support/run-action.ts';

vi.setConfig({ testTimeout: ACTION_TEST_TIMEOUT_MS });

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => world.close());

describe('a video_url through CometAPI, end to end', () => {
  it('submits, waits, downloads the mp3, uploads it and reports everything', async () => {
    const creates = routeRequests(world.kling, 'create').length;
    const run = await world.run({
      video_url: 'https://example.com/trailer.mp4',
      sound_effect_prompt: 'waves on rocks',
      bgm_prompt: 'calm piano',
    });
    expect(run.code, run.stdout).toBe(0);

    const { outputs } = run;
    const task = world.kling.tasks.get(outputs.task_id!)!;
    expect(task, 'task_id names the emulator task').toBeDefined();
    expect(routeRequests(world.kling, 'create')).toHaveLength(creates + 1);
    expect(task.request).toMatchObject({
      video_url: 'https://example.com/trailer.mp4',
      sound_effect_prompt: 'waves on rocks',
      bgm_prompt: 'calm piano',
      external_task_id: outputs.external_task_id,
    });
    expect(task.request).not.toHaveProperty('asmr_mode');
    expect(task.request).not.toHaveProperty('callback_url');
    expect(outputs.external_task_id).toMatch(/^gha-[0-9a-f]{32}$/);
    expect(outputs.task_status).toBe('succeed');
    expect(outputs.audio_url).toBe(`${world.kling.url}/files/${task.task_id}/audio.mp3`);
    expect(outputs.duration).toMatch(/^\d+(\.\d+)?$/);
    expect(outputs).not.toHaveProperty('video_path');

    // The file on disk is exactly what the API served, named from the task id.
    const media = world.kling.media(task.task_id);
    expect(outputs.audio_path).toBe(path.join(run.workspace, 'kling-audio', `${task.task_id}.mp3`));
    expect(readFileSync(outputs.audio_path!).equals(media.mp3)).toBe(true);

    // The artifact: default name, the zip holds the same bytes, outputs as upload-artifact reports them.
    const artifact = world.results.artifactByName(`kling-audio-${task.task_id}`)!;
    expect(artifact).toBeDefined();
    const entries = await readZip(artifact.blob);
    expect([...entries.keys()]).toEqual([`${task.task_id}.mp3`]);
    expect(entries.get(`${task.task_id}.mp3`)!.equals(media.mp3)).toBe(true);
    expect(outputs.artifact_id).toBe(String(artifact.id));
    expect(outputs.artifact_digest).toBe(artifact.sha256);
    expect(outputs.artifact_url).toMatch(
      new RegExp(`^https://github\\.com/octo-org/octo-repo/actions/runs/\\d+/artifacts/${artifact.id}$`),
    );

    // State for later readers; a summary a person can act on.
    expect(run.state.task_id).toBe(task.task_id);
    expect(run.summary).toContain(task.task_id);
    expect(run.summary).toContain('done');
    expect(run.summary).toContain(`${task.task_id}.mp3`);
    expect(run.summary).toContain(outputs.artifact_url);
    expect(run.summary).toContain('| Billed | 1 unit; 0.10 from the balance (list price 0.10) |');
    // Progress is logged per status change, not per poll.
    const progressLines = run.stdout.split('\n').filter((l) => l.startsWith(`Task ${task.task_id}:`));
    expect(progressLines.length).toBeLessThanOrEqual(3);
  });

  it('downloads both formats and the video, with a custom artifact name and retention', async () => {
    const run = await world.run({
      video_id: 'kling-video-123',
      audio_format: 'both',
      include_video: 'true',
      artifact_name: 'soundtrack',
      retention_days: '7',
      asmr_mode: 'true',
      output_dir: 'out/audio',
    });
    expect(run.code, run.stdout).toBe(0);
    const taskId = run.outputs.task_id!;
    const media = world.kling.media(taskId);
    const dir = path.join(run.workspace, 'out/audio');
    expect(world.kling.tasks.get(taskId)!.request).toMatchObject({
      video_id: 'kling-video-123',
      asmr_mode: true,
    });
    expect(run.outputs.audio_path).toBe(path.join(dir, `${taskId}.mp3`));
    expect(run.outputs.video_path).toBe(path.join(dir, `${taskId}.mp4`));
    // Multi-line, through the runner's heredoc form of GITHUB_OUTPUT.
    expect(run.outputs.files!.split('\n').sort()).toEqual(
      [`${taskId}.mp3`, `${taskId}.mp4`, `${taskId}.wav`].map((name) => path.join(dir, name)),
    );
    expect(run.outputs.video_url).toBe(`${world.kling.url}/files/${taskId}/video.mp4`);

    const artifact = world.results.artifactByName('soundtrack')!;
    const entries = await readZip(artifact.blob);
    expect([...entries.keys()].sort()).toEqual([`${taskId}.mp3`, `${taskId}.mp4`, `${taskId}.wav`]);
    expect(entries.get(`${taskId}.mp3`)!.equals(media.mp3)).toBe(true);
    expect(entries.get(`${taskId}.wav`)!.equals(media.wav)).toBe(true);
    expect(entries.get(`${taskId}.mp4`)!.equals(media.mp4)).toBe(true);
    const days = (Date.parse(artifact.expiresAt!) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThan(7.1);
  });

  it('with audio_format wav, the wav is the primary file', async () => {
    const run = await world.run({
      video_url: 'https://example.com/wav.mp4',
      audio_format: 'wav',
      upload_artifact: 'false',
    });
    expect(run.code, run.stdout).toBe(0);
    const taskId = run.outputs.task_id!;
    expect(run.outputs.audio_url).toBe(`${world.kling.url}/files/${taskId}/audio.wav`);
    // As the API wrote it ("5.000"), not re-formatted.
    expect(run.outputs.duration).toBe('5.000');
    expect(readFileSync(run.outputs.audio_path!).equals(world.kling.media(taskId).wav)).toBe(true);
    expect(existsSync(path.join(run.workspace, 'kling-audio', `${taskId}.mp3`))).toBe(false);
    expect(run.outputs).not.toHaveProperty('artifact_id');
    expect(world.results.artifacts.some((a) => a.name === `kling-audio-${taskId}`)).toBe(false);
    expect(run.summary).toContain('upload_artifact: false');
  });

  it('wait: false submits, sets task_id and stops; task_id: then collects it', async () => {
    const submitted = await world.run({ video_url: 'https://example.com/later.mp4', wait: 'false' });
    expect(submitted.code, submitted.stdout).toBe(0);
    const taskId = submitted.outputs.task_id!;
    expect(world.kling.tasks.has(taskId)).toBe(true);
    expect(submitted.outputs.task_status).toBe('submitted');
    expect(submitted.outputs).not.toHaveProperty('audio_path');
    expect(submitted.summary).toContain(`task_id: ${taskId}`);

    const creates = routeRequests(world.kling, 'create').length;
    const collected = await world.run({ task_id: taskId });
    expect(collected.code, collected.stdout).toBe(0);
    expect(routeRequests(world.kling, 'create')).toHaveLength(creates);
    expect(collected.outputs.task_id).toBe(taskId);
    expect(collected.outputs.task_status).toBe('succeed');
    expect(readFileSync(collected.outputs.audio_path!).equals(world.kling.media(taskId).mp3)).toBe(true);
  });

  it('rejects bad input before any request, naming each input and the fix', async () => {
    const before = world.kling.requests.length;
    const run = await world.run({
      video_url: 'ftp://example.com/a.mp4',
      bgm_prompt: 'é'.repeat(201),
      wait: 'yes',
      timeout_seconds: '0',
    });
    expect(run.code).toBe(1);
    const message = errorMessage(run);
    expect(message).toContain('video_url must use http or https');
    expect(message).toContain('bgm_prompt is 201 characters long');
    expect(message).toContain('wait must be true or false');
    expect(message).toContain('timeout_seconds must be a number from 1');
    expect(world.kling.requests.length).toBe(before);
    expect(run.outputs).toEqual({});
  });

  it('reads the older wrapped CometAPI query shape', async () => {
    const wrapped = await startWorld({ cometResponseShape: 'wrapped' });
    try {
      const run = await wrapped.run({ video_url: 'https://example.com/wrapped.mp4' });
      expect(run.code, run.stdout).toBe(0);
      expect(run.outputs.task_status).toBe('succeed');
      expect(
        readFileSync(run.outputs.audio_path!).equals(wrapped.kling.media(run.outputs.task_id!).mp3),
      ).toBe(true);
    } finally {
      await wrapped.close();
    }
  });
});
