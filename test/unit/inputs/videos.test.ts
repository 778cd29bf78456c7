import { describe, expect, it } from 'vitest';
import { parseVideos } from '../../../src/inputs/videos.ts';

const checkUrl = (url: string) =>
  /^https?:\/\/\S+$/.test(url) ? undefined : `must be an http(s) URL, got "${url}"`;

function parse(raw: string) {
  const problems: string[] = [];
  const entries = parseVideos(raw, checkUrl, problems);
  return { entries, problems };
}

describe('parseVideos: one source per line', () => {
  it('white space then # starts a comment: never part of the source or its name', () => {
    const { entries, problems } = parse(
      [
        'https://x.example/a.mp4  # intro',
        'https://x.example/b.mp4\t#outro, the long cut',
        '8123456789 # a Kling video',
        '   https://x.example/c.mp4 #',
      ].join('\n'),
    );
    expect(problems).toEqual([]);
    expect(entries.map((e) => e.source)).toEqual([
      { kind: 'video_url', videoUrl: 'https://x.example/a.mp4' },
      { kind: 'video_url', videoUrl: 'https://x.example/b.mp4' },
      { kind: 'video_id', videoId: '8123456789' },
      { kind: 'video_url', videoUrl: 'https://x.example/c.mp4' },
    ]);
    expect(entries.map((e) => e.name)).toEqual([
      'https://x.example/a.mp4',
      'https://x.example/b.mp4',
      '8123456789',
      'https://x.example/c.mp4',
    ]);
  });

  it('a # with no white space before it is the URL’s fragment, as before', () => {
    const { entries } = parse('https://x.example/a.mp4#t=3\nhttps://x.example/b.mp4#t=1 # from one second');
    expect(entries.map((e) => e.source)).toEqual([
      { kind: 'video_url', videoUrl: 'https://x.example/a.mp4#t=3' },
      { kind: 'video_url', videoUrl: 'https://x.example/b.mp4#t=1' },
    ]);
  });

  it('comment lines, blank lines and padding are skipped; problems name the line as written', () => {
    const { entries, problems } = parse(
      [
        '# nightly',
        '',
        '  # https://x.example/off.mp4',
        '  https://x.example/a.mp4  ',
        'clip.mp4 # local?',
        'ftp://x.example/b.mp4',
      ].join('\n'),
    );
    // A line that is neither a video id nor a URL is a path on the runner, found later (inputs/files.ts).
    expect(entries.map((e) => e.name)).toEqual(['https://x.example/a.mp4', 'clip.mp4']);
    expect(entries[1]!.source).toEqual({
      kind: 'file',
      pattern: 'clip.mp4',
      literal: false,
      where: 'videos line 5',
    });
    expect(problems).toEqual([expect.stringMatching(/^videos line 6: must be an http\(s\) URL/)]);
  });

  it('a line that is only a comment after white space lists no video', () => {
    expect(parse('   # nothing yet').problems).toEqual([expect.stringContaining('lists no video')]);
  });

  it('JSON entries are taken as written: a # in a URL there is its fragment', () => {
    const { entries } = parse(JSON.stringify([{ video_url: 'https://x.example/a.mp4 #x' }]));
    expect(entries).toEqual([]);
    const ok = parse(JSON.stringify([{ video_url: 'https://x.example/a.mp4#x', name: 'A # one' }]));
    expect(ok.entries.map((e) => [e.source, e.name])).toEqual([
      [{ kind: 'video_url', videoUrl: 'https://x.example/a.mp4#x' }, 'A # one'],
    ]);
  });
});
