import { describe, expect, it } from 'vitest';
import { assetFiles } from '../../../src/deliver/release.ts';
import type { Entry } from '../../../src/sources/source.ts';
import type { TaskOutcome } from '../../../src/task/task.ts';

const entry = (source: Entry['source'], name = 'x'): Entry => ({ source, name, asmrMode: false });
const outcome = (taskId: string, kinds: ('mp3' | 'wav' | 'mp4')[]): TaskOutcome => ({
  ending: 'succeeded',
  resumed: false,
  files: kinds.map((kind) => ({
    role: kind === 'mp4' ? 'video' : 'audio',
    kind,
    url: `https://cdn.example.com/${taskId}.${kind}`,
    path: `/ws/kling-audio/${taskId}.${kind}`,
    bytes: 1,
  })),
});

describe('assetFiles: release asset names that stay the same from run to run', () => {
  it('names files after the entry, never the task id, with the right content types', () => {
    const files = assetFiles(
      [outcome('861', ['mp3', 'wav', 'mp4'])],
      [
        entry({
          kind: 'video_url',
          videoUrl: 'https://cdn.example.com/videos/Launch Trailer (v2).mp4?sig=1',
        }),
      ],
    );
    expect(files.map((f) => [f.name, f.contentType])).toEqual([
      ['Launch-Trailer-v2.mp3', 'audio/mpeg'],
      ['Launch-Trailer-v2.wav', 'audio/wav'],
      ['Launch-Trailer-v2-with-sound.mp4', 'video/mp4'],
    ]);
    // A later run (another task) gets the same names, so it replaces the assets.
    const later = assetFiles(
      [outcome('999', ['mp3'])],
      [
        entry({
          kind: 'video_url',
          videoUrl: 'https://cdn.example.com/videos/Launch Trailer (v2).mp4?sig=2',
        }),
      ],
    );
    expect(later[0]!.name).toBe('Launch-Trailer-v2.mp3');
  });

  it('names a muxed video <stem>.mp4 or <stem>.mov, with its container as content type', () => {
    const muxed = (taskId: string, kind: 'mp4' | 'mov'): TaskOutcome => ({
      ...outcome(taskId, ['mp3', 'mp4']),
      files: [
        ...outcome(taskId, ['mp3', 'mp4']).files,
        { role: 'muxed', kind, path: `/ws/kling-audio/${taskId}-muxed.${kind}`, bytes: 1 },
      ],
    });
    const files = assetFiles(
      [muxed('1', 'mp4'), muxed('2', 'mov')],
      [
        entry({ kind: 'video_url', videoUrl: 'https://cdn.example.com/intro.mp4' }),
        entry({
          kind: 'video_path',
          path: 'renders/outro.mov',
          absolute: '/ws/renders/outro.mov',
          sha256: 'ab'.repeat(32),
          bytes: 1,
        }),
      ],
    );
    expect(files.map((f) => [f.name, f.contentType, f.path])).toEqual([
      ['intro.mp3', 'audio/mpeg', '/ws/kling-audio/1.mp3'],
      ['intro-with-sound.mp4', 'video/mp4', '/ws/kling-audio/1.mp4'],
      ['intro.mp4', 'video/mp4', '/ws/kling-audio/1-muxed.mp4'],
      ['outro.mp3', 'audio/mpeg', '/ws/kling-audio/2.mp3'],
      ['outro-with-sound.mp4', 'video/mp4', '/ws/kling-audio/2.mp4'],
      ['outro.mov', 'video/quicktime', '/ws/kling-audio/2-muxed.mov'],
    ]);
  });

  it("keeps an entry's names clear of another entry's files: x's video is x-with-sound.mp4", () => {
    const withMuxed = (taskId: string): TaskOutcome => ({
      ...outcome(taskId, ['mp3', 'mp4']),
      files: [
        ...outcome(taskId, ['mp3', 'mp4']).files,
        { role: 'muxed', kind: 'mp4', path: `/ws/kling-audio/${taskId}-muxed.mp4`, bytes: 1 },
      ],
    });
    const files = assetFiles(
      [withMuxed('1'), withMuxed('2')],
      [
        entry({ kind: 'video_url', videoUrl: 'https://cdn.example.com/x.mp4' }),
        entry({ kind: 'video_url', videoUrl: 'https://cdn.example.com/x-with-sound.mp4' }),
      ],
    );
    const names = files.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual([
      'x.mp3',
      'x-with-sound.mp4',
      'x.mp4',
      'x-with-sound-2.mp3',
      'x-with-sound-2-with-sound.mp4',
      'x-with-sound-2.mp4',
    ]);
  });

  it('keeps two entries with the same stem apart, and names video ids and attached tasks', () => {
    const files = assetFiles(
      [outcome('1', ['mp3']), outcome('2', ['mp3']), outcome('3', ['mp3']), outcome('4', ['mp3'])],
      [
        entry({ kind: 'video_url', videoUrl: 'https://a.example.com/clip.mp4' }),
        entry({ kind: 'video_url', videoUrl: 'https://b.example.com/clip.mov' }),
        entry({ kind: 'video_id', videoId: '8612' }),
        entry({ kind: 'task_id', taskId: '777' }),
      ],
    );
    expect(files.map((f) => f.name)).toEqual(['clip.mp3', 'clip-2.mp3', 'video-8612.mp3', 'task-777.mp3']);
  });
});
