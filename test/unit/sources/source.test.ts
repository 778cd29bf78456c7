import { describe, expect, it } from 'vitest';
import { describeSource } from '../../../src/sources/source.ts';

describe('describeSource: what every stage asks of a source, in one place', () => {
  it('a video URL: written as is, created with video_url, checked by the preflight, named after its file', () => {
    expect(
      describeSource({ kind: 'video_url', videoUrl: 'https://cdn.example.com/a/Trailer%20final.mp4?sig=1' }),
    ).toEqual({
      text: 'https://cdn.example.com/a/Trailer%20final.mp4?sig=1',
      description: 'https://cdn.example.com/a/Trailer%20final.mp4?sig=1',
      assetStem: 'Trailer-final',
      video: { video_url: 'https://cdn.example.com/a/Trailer%20final.mp4?sig=1' },
      remoteUrl: 'https://cdn.example.com/a/Trailer%20final.mp4?sig=1',
      identity: 'url https://cdn.example.com/a/Trailer%20final.mp4?sig=1',
    });
  });

  it('a Kling video id: created with video_id, nothing to check', () => {
    expect(describeSource({ kind: 'video_id', videoId: '8612' })).toEqual({
      text: '8612',
      description: 'video 8612',
      assetStem: 'video-8612',
      video: { video_id: '8612' },
      identity: 'id 8612',
    });
  });

  it('an existing task: attached to, never created, never shared', () => {
    const facts = describeSource({ kind: 'task_id', taskId: '777' });
    expect(facts).toMatchObject({ text: '777', description: 'existing task 777', taskId: '777' });
    expect(facts.video).toBeUndefined();
    expect(facts.identity).toBeUndefined();
  });

  it('one identity for every spelling of a URL (host case, default port), another for another URL', () => {
    const identity = (videoUrl: string) => describeSource({ kind: 'video_url', videoUrl }).identity;
    expect(identity('https://CDN.example.com:443/a.mp4')).toBe(identity('https://cdn.example.com/a.mp4'));
    expect(identity('https://cdn.example.com/b.mp4')).not.toBe(identity('https://cdn.example.com/a.mp4'));
  });

  it('asset stems keep to safe characters, whatever the URL holds', () => {
    const stem = (videoUrl: string) => describeSource({ kind: 'video_url', videoUrl }).assetStem;
    expect(stem('https://x.test/..%2F..%2Fetc%2Fpasswd.mp4')).toBe('etc-passwd');
    expect(stem('https://x.test/%E2%80%8B.mp4')).toBe('kling-audio');
    expect(stem('https://x.test/%ZZbad.mp4')).toBe('ZZbad');
    expect(stem(`https://x.test/${'a'.repeat(200)}.mp4`)).toHaveLength(80);
  });
});
