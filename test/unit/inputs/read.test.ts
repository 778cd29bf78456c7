import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError, inputWarnings, readInputs, type ActionInputs } from '../../../src/inputs/read.ts';

const WORKSPACE = path.resolve('/home/runner/work/repo/repo');

const BASE: Record<string, string> = {
  video_url: 'https://cdn.example.com/clip.mp4',
  api_key: 'sk-comet',
};

function read(given: Record<string, string | undefined>, workspace = WORKSPACE): ActionInputs {
  const all = { ...BASE, ...given };
  return readInputs((name) => all[name] ?? '', workspace);
}

/** The problems readInputs reports for these inputs (fails the test when it accepts them). */
function problems(given: Record<string, string | undefined>): readonly string[] {
  try {
    read(given);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as InputError).problems;
  }
  throw new Error(`expected readInputs to reject ${JSON.stringify(given)}`);
}

describe('source: exactly one of video_url, video_id, task_id', () => {
  it('accepts video_url alone', () => {
    expect(read({}).entries[0]!.source).toEqual({
      kind: 'video_url',
      videoUrl: 'https://cdn.example.com/clip.mp4',
    });
  });

  it('accepts video_id alone', () => {
    expect(read({ video_url: '', video_id: 'vid-123' }).entries[0]!.source).toEqual({
      kind: 'video_id',
      videoId: 'vid-123',
    });
  });

  it('accepts task_id alone', () => {
    expect(read({ video_url: '', task_id: '861254119619698760' }).entries[0]!.source).toEqual({
      kind: 'task_id',
      taskId: '861254119619698760',
    });
  });

  it.each([
    [{ video_id: 'vid-1' }, ['video_url', 'video_id']],
    [{ task_id: 'task-1' }, ['video_url', 'task_id']],
    [{ video_url: '', video_id: 'vid-1', task_id: 'task-1' }, ['video_id', 'task_id']],
    [{ video_id: 'vid-1', task_id: 'task-1' }, ['video_url', 'video_id', 'task_id']],
  ])('rejects %j, naming the inputs given together', (given, named) => {
    const [problem] = problems(given);
    expect(problem).toMatch(/exactly one of/);
    for (const name of named) expect(problem).toContain(name);
  });

  it('rejects none of them, saying what each is for', () => {
    const [problem] = problems({ video_url: '' });
    expect(problem).toContain('video_url');
    expect(problem).toContain('video_id');
    expect(problem).toContain('task_id');
  });

  it('treats a whitespace-only source as not given', () => {
    expect(problems({ video_url: '   ' })[0]).toMatch(/Give one of/);
  });

  it('rejects a task_id that is not an API id', () => {
    expect(problems({ video_url: '', task_id: 'abc def' })[0]).toMatch(/task_id must be the task id/);
  });
});

describe('URLs', () => {
  it.each(['ftp://cdn.example.com/clip.mp4', 'file:///tmp/clip.mp4', 'data:video/mp4;base64,AAAA'])(
    'rejects video_url %s: only http(s)',
    (url) => {
      expect(problems({ video_url: url })[0]).toMatch(/video_url must use http or https/);
    },
  );

  it('rejects a video_url that is not a URL at all', () => {
    expect(problems({ video_url: 'clip.mp4' })[0]).toMatch(/video_url must be an absolute http\(s\) URL/);
  });

  it.each([
    ['https://cdn.example.com/poster.PNG', '.png'],
    ['https://cdn.example.com/clip.webm?sig=abc', '.webm'],
    ['https://cdn.example.com/track.mp3', '.mp3'],
    ['https://cdn.example.com/stream/index.m3u8', '.m3u8'],
  ])('rejects a video_url that names a file Kling cannot take: %s', (url, extension) => {
    const [problem] = problems({ video_url: url });
    expect(problem).toContain(`video_url points to a ${extension} file; Kling accepts only .mp4 and .mov`);
    expect(problem).toContain(`ffmpeg -i input${extension} output.mp4`);
  });

  it.each(['https://www.youtube.com/watch?v=abc', 'https://youtu.be/abc'])(
    'rejects a video page instead of a file: %s',
    (url) => {
      expect(problems({ video_url: url })[0]).toMatch(/video_url points to a video page .*direct link/);
    },
  );

  it.each([
    'https://cdn.example.com/clip.MOV',
    'https://cdn.example.com/clip.mp4?X-Amz-Signature=abc',
    'https://storage.example.com/download?id=42',
    'https://cdn.example.com/videos/42',
    'https://player.vimeo.com/external/42.hd.mp4',
  ])('leaves a video_url that may be a video to the API: %s', (url) => {
    expect(read({ video_url: url }).entries[0]!.source).toEqual({ kind: 'video_url', videoUrl: url });
  });

  it('accepts an http video_url', () => {
    expect(read({ video_url: 'http://cdn.example.com/clip.mp4' }).entries[0]!.source).toMatchObject({
      videoUrl: 'http://cdn.example.com/clip.mp4',
    });
  });

  it('rejects a video_url carrying credentials', () => {
    expect(problems({ video_url: 'https://user:pw@cdn.example.com/clip.mp4' })[0]).toMatch(
      /must not carry a user name or password/,
    );
  });

  it.each(['ftp://hooks.example.com/x', 'javascript:alert(1)', 'hooks.example.com'])(
    'rejects callback_url %s',
    (url) => {
      expect(problems({ callback_url: url })[0]).toMatch(/^callback_url must/);
    },
  );

  it('a callback_url of another scheme is told what it must be, without advice meant for videos', () => {
    const [problem] = problems({ callback_url: 'ftp://hooks.example.com/x' });
    expect(problem).toBe('callback_url must use http or https, got "ftp:".');
    expect(problems({ video_url: 'file:///home/runner/clip.mp4' })[0]).toMatch(
      /upload local files somewhere first/,
    );
  });

  it('accepts an https callback_url and leaves it undefined when empty', () => {
    expect(read({ callback_url: 'https://hooks.example.com/kling' }).callbackUrl).toBe(
      'https://hooks.example.com/kling',
    );
    expect(read({}).callbackUrl).toBeUndefined();
  });
});

describe('base_url', () => {
  it('defaults per provider', () => {
    expect(read({}).baseUrl).toBe('https://api.cometapi.com');
    expect(read({ provider: 'kling', api_key: 'kling-key' }).baseUrl).toBe(
      'https://api-singapore.klingai.com',
    );
  });

  it('trims trailing slashes and keeps a path prefix', () => {
    expect(read({ base_url: 'https://api.cometapi.com/' }).baseUrl).toBe('https://api.cometapi.com');
    expect(read({ base_url: 'https://proxy.example.com/kling-gw//' }).baseUrl).toBe(
      'https://proxy.example.com/kling-gw',
    );
  });

  it.each(['http://127.0.0.1:8080', 'http://localhost:3000/', 'http://[::1]:9000'])(
    'allows plain http for the loopback address %s',
    (url) => {
      expect(read({ base_url: url }).baseUrl).toBe(url.replace(/\/$/, ''));
    },
  );

  it.each(['http://api.cometapi.com', 'http://localhost.evil.example', 'http://127.0.0.1.nip.io'])(
    'rejects plain http to %s',
    (url) => {
      expect(problems({ base_url: url })[0]).toMatch(/base_url must use https/);
    },
  );

  it('rejects a base_url with a query or credentials', () => {
    expect(problems({ base_url: 'https://api.cometapi.com/?x=1' })[0]).toMatch(/must be an origin/);
    expect(problems({ base_url: 'https://u:p@api.cometapi.com' })[0]).toMatch(/must be an origin/);
  });

  it('rejects a base_url that is not a URL', () => {
    expect(problems({ base_url: 'api.cometapi.com' })[0]).toMatch(/base_url must be an absolute URL/);
  });
});

describe('prompts: at most 200 characters, counted as characters', () => {
  it.each([
    ['ASCII', 'a'],
    ['é (two UTF-8 bytes)', 'é'],
    ['an emoji (two UTF-16 units)', '🎵'],
  ])('accepts 200 × %s and rejects 201', (_label, char) => {
    for (const name of ['sound_effect_prompt', 'bgm_prompt']) {
      const fits = char.repeat(200);
      const inputs = read({ [name]: fits });
      expect(name === 'bgm_prompt' ? inputs.bgmPrompt : inputs.soundEffectPrompt).toBe(fits);

      const [problem] = problems({ [name]: char.repeat(201) });
      expect(problem).toContain(name);
      expect(problem).toContain('201 characters');
      expect(problem).toContain('200');
    }
  });

  it('leaves an empty prompt undefined', () => {
    const inputs = read({ sound_effect_prompt: '  ' });
    expect(inputs.soundEffectPrompt).toBeUndefined();
    expect(inputs.bgmPrompt).toBeUndefined();
  });
});

describe('booleans are strict', () => {
  it.each([
    ['true', true],
    ['True', true],
    ['TRUE', true],
    ['false', false],
    ['False', false],
    ['FALSE', false],
  ])('reads %s as %s', (raw, value) => {
    const inputs = read({ asmr_mode: raw, wait: raw, include_video: raw, upload_artifact: raw });
    expect([inputs.asmrMode, inputs.wait, inputs.includeVideo, inputs.uploadArtifact]).toEqual([
      value,
      value,
      value,
      value,
    ]);
  });

  it.each(['yes', '1', 'on', 'no', '0', 'off', 'tRuE'])('rejects %s, naming the input', (raw) => {
    for (const name of ['asmr_mode', 'wait', 'include_video', 'upload_artifact']) {
      const [problem] = problems({ [name]: raw });
      expect(problem).toBe(`${name} must be true or false, got "${raw}".`);
    }
  });

  it('uses the documented defaults when empty', () => {
    const inputs = read({});
    expect(inputs.asmrMode).toBe(false);
    expect(inputs.wait).toBe(true);
    expect(inputs.includeVideo).toBe(false);
    expect(inputs.uploadArtifact).toBe(true);
  });
});

describe('numbers', () => {
  it.each(['0', '-1', 'abc', '1e3', '', ' 12 x', '21601'])('timeout_seconds %j', (raw) => {
    if (raw === '') {
      expect(read({ timeout_seconds: raw }).timeoutSeconds).toBe(900);
      return;
    }
    expect(problems({ timeout_seconds: raw })[0]).toMatch(
      /^timeout_seconds must be a number from 1 to 21600/,
    );
  });

  it('accepts decimal seconds for timeout and poll interval', () => {
    const inputs = read({ timeout_seconds: '1.5', poll_interval_seconds: '0.5' });
    expect(inputs.timeoutSeconds).toBe(1.5);
    expect(inputs.pollIntervalSeconds).toBe(0.5);
  });

  it('defaults poll_interval_seconds to 5 and rejects 0', () => {
    expect(read({}).pollIntervalSeconds).toBe(5);
    expect(problems({ poll_interval_seconds: '0' })[0]).toMatch(/^poll_interval_seconds must be/);
  });

  it('rejects a poll interval longer than the timeout', () => {
    expect(problems({ timeout_seconds: '10', poll_interval_seconds: '20' })[0]).toMatch(
      /poll_interval_seconds \(20\) must not exceed timeout_seconds \(10\)/,
    );
  });

  it.each(['401', '7.5', '-3', 'week'])('rejects retention_days %s', (raw) => {
    expect(problems({ retention_days: raw })[0]).toMatch(
      /^retention_days must be a whole number from 0 to 400/,
    );
  });

  it('reads retention_days up to 400, and 0 or empty as the repository default (as upload-artifact)', () => {
    expect(read({ retention_days: '1' }).retentionDays).toBe(1);
    expect(read({ retention_days: '90' }).retentionDays).toBe(90);
    expect(read({ retention_days: '400' }).retentionDays).toBe(400);
    expect(read({ retention_days: '0' }).retentionDays).toBeUndefined();
    expect(read({ retention_days: '' }).retentionDays).toBeUndefined();
  });
});

describe('audio_format', () => {
  it.each(['mp3', 'wav', 'both', 'WAV'])('accepts %s', (raw) => {
    expect(read({ audio_format: raw }).audioFormat).toBe(raw.toLowerCase());
  });

  it('defaults to mp3 and rejects others', () => {
    expect(read({}).audioFormat).toBe('mp3');
    expect(problems({ audio_format: 'flac' })[0]).toBe('audio_format must be mp3, wav or both, got "flac".');
  });
});

describe('credentials per provider', () => {
  it('cometapi takes api_key as a bearer key', () => {
    expect(read({}).credentials).toEqual({ kind: 'api_key', apiKey: 'sk-comet' });
    expect(read({}).provider).toBe('cometapi');
  });

  it('cometapi without api_key says how to pass it', () => {
    const [problem] = problems({ api_key: '' });
    expect(problem).toMatch(/api_key is required for provider cometapi/);
  });

  it('cometapi with access_key points to provider kling', () => {
    const [problem] = problems({ access_key: 'ak' });
    expect(problem).toMatch(/access_key\/secret_key are Kling credentials: set provider: kling/);
  });

  it('kling with half a pair names the missing half, either way', () => {
    expect(problems({ provider: 'kling', api_key: '', access_key: 'ak' })[0]).toBe(
      'access_key is set but secret_key is empty: give both.',
    );
    expect(problems({ provider: 'kling', api_key: '', secret_key: 'sk' })[0]).toBe(
      'secret_key is set but access_key is empty: give both.',
    );
  });

  it('kling with both kinds of credentials is ambiguous', () => {
    expect(problems({ provider: 'kling', access_key: 'ak', secret_key: 'sk' })[0]).toMatch(
      /Give either api_key or access_key \+ secret_key for provider kling, not both/,
    );
  });

  it('kling without any credentials lists both options', () => {
    const [problem] = problems({ provider: 'kling', api_key: '' });
    expect(problem).toMatch(/access_key \+ secret_key, or a console API key as api_key/);
  });

  it('kling takes a console api_key alone', () => {
    expect(read({ provider: 'kling', api_key: 'console-key' }).credentials).toEqual({
      kind: 'api_key',
      apiKey: 'console-key',
    });
  });

  it('kling takes an access_key + secret_key pair', () => {
    const inputs = read({ provider: 'Kling', api_key: '', access_key: 'ak', secret_key: 'sk' });
    expect(inputs.provider).toBe('kling');
    expect(inputs.credentials).toEqual({ kind: 'access_key', accessKey: 'ak', secretKey: 'sk' });
  });

  it('rejects an unknown provider', () => {
    expect(problems({ provider: 'openai' })[0]).toBe('provider must be cometapi or kling, got "openai".');
  });
});

describe('external_task_id and artifact_name', () => {
  it('accepts an id of letters, digits and . _ : -', () => {
    expect(read({ external_task_id: 'build-42_v1.0:a' }).externalTaskId).toBe('build-42_v1.0:a');
    expect(read({}).externalTaskId).toBeUndefined();
  });

  it.each(['has space', 'a/b', 'x'.repeat(129), '-leading'])('rejects external_task_id %j', (raw) => {
    expect(problems({ external_task_id: raw })[0]).toMatch(/^external_task_id may use/);
  });

  it.each(['a/b', 'a:b', 'a|b', 'a\\b'])('rejects artifact_name %j', (raw) => {
    expect(problems({ artifact_name: raw })[0]).toMatch(/^artifact_name must not contain/);
  });
});

describe('the whole object', () => {
  it('reports several problems together in one error', () => {
    let caught: unknown;
    try {
      read({ video_url: '', asmr_mode: 'yes', timeout_seconds: 'abc', audio_format: 'ogg', api_key: '' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InputError);
    const error = caught as InputError;
    expect(error.problems).toHaveLength(5);
    expect(error.message).toMatch(/^Invalid inputs:\n {2}- /);
    for (const name of ['video_url', 'asmr_mode', 'timeout_seconds', 'audio_format', 'api_key'])
      expect(error.message).toContain(name);
  });

  it('says "Invalid input" with a single problem', () => {
    expect(() => read({ wait: 'nope' })).toThrow('Invalid input: wait must be true or false, got "nope".');
  });

  it('returns a frozen object', () => {
    const inputs = read({});
    expect(Object.isFrozen(inputs)).toBe(true);
    expect(() => {
      (inputs as { wait: boolean }).wait = false;
    }).toThrow(TypeError);
  });

  it('resolves output_dir against the workspace', () => {
    expect(read({}).outputDir).toBe(path.join(WORKSPACE, 'kling-audio'));
    expect(read({ output_dir: 'out/audio' }).outputDir).toBe(path.join(WORKSPACE, 'out/audio'));
    const absolute = path.resolve('/tmp/elsewhere');
    expect(read({ output_dir: absolute }).outputDir).toBe(absolute);
  });

  it('trims whitespace around every value', () => {
    const inputs = read({ video_url: '  https://cdn.example.com/clip.mp4\n', wait: ' false ' });
    expect(inputs.entries[0]!.source).toEqual({
      kind: 'video_url',
      videoUrl: 'https://cdn.example.com/clip.mp4',
    });
    expect(inputs.wait).toBe(false);
  });
});

describe('credentials that cannot be a header value', () => {
  it.each([
    ['api_key', { api_key: 'sk-abc\ndef' }],
    ['api_key', { api_key: 'sk-abc\u0007def' }],
    ['api_key', { api_key: 'sk-copied-with\u200ba-zero-width-space' }],
    [
      'access_key',
      { provider: 'kling', api_key: '', access_key: 'ak-visible-part\r\nX-Evil: 1', secret_key: 'sk' },
    ],
    [
      'secret_key',
      { provider: 'kling', api_key: '', access_key: 'ak', secret_key: 'sk-hidden-one\u0000zz-tail' },
    ],
  ])(
    '%s with a line break or control character is an input error that never quotes the value',
    (name, given) => {
      const all = problems(given).join('\n');
      expect(all).toContain(`${name} cannot be sent in an HTTP header`);
      const value = Object.values(given).find((v) => /[^\x20-\x7e\xa0-\xff]/.test(v))!;
      for (const part of value.split(/[^\x20-\x7e\xa0-\xff]+/)) expect(all).not.toContain(part);
    },
  );

  it('accepts a key with inner spaces or non-ASCII letters (only control characters are refused)', () => {
    expect(read({ api_key: 'sk key é' }).credentials).toEqual({ kind: 'api_key', apiKey: 'sk key é' });
  });
});

describe('mux', () => {
  it('is off by default, and on for a video_url or a videos list of URLs', () => {
    expect(read({}).mux).toBe(false);
    expect(read({ mux: 'true' }).mux).toBe(true);
    const urls = 'https://cdn.example.com/a.mp4\nhttps://cdn.example.com/b.mov';
    expect(read({ video_url: '', videos: urls, mux: 'true' }).mux).toBe(true);
  });

  it('with a video_id or a task_id is a problem that says why and what to give instead', () => {
    expect(problems({ video_url: '', video_id: '861254119619698760', mux: 'true' })).toEqual([
      'mux: true puts the soundtrack into the source video, so it needs the video itself, and video_id names a video kept by Kling, not a file the action can read. Give the video as video_url, or leave mux off.',
    ]);
    expect(problems({ video_url: '', task_id: '861254119619698760', mux: 'true' })).toEqual([
      'mux: true puts the soundtrack into the source video, so it needs the video itself, and task_id collects an existing task, which names no video file. Give the video as video_url instead, or leave mux off.',
    ]);
    expect(read({ video_url: '', video_id: '861254119619698760', mux: 'false' }).mux).toBe(false);
  });

  it('warns that it does nothing with wait: false', () => {
    expect(inputWarnings(read({ mux: 'true', wait: 'false' }))).toEqual([
      'mux has no effect with wait: false: the step ends before the audio exists, so no video is muxed.',
    ]);
    expect(inputWarnings(read({ mux: 'true' }))).toEqual([]);
  });

  it('in a batch, names every entry without a video file, in one problem', () => {
    const videos = JSON.stringify([
      { video_url: 'https://cdn.example.com/a.mp4' },
      { video_id: '861254119619698760', name: 'Kling clip' },
      { video_id: '861254119619698761' },
    ]);
    expect(problems({ video_url: '', videos, mux: 'true' })).toEqual([
      'mux: true puts the soundtrack into the source video, so it needs the video itself; videos entries 2 (Kling clip), 3 (861254119619698761) are Kling video ids, not files the action can read. Give their video URLs instead, or leave mux off.',
    ]);
  });
});
