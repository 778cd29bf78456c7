// mux: true on the built action: real MP4 and MOV sources served on loopback, muxed with the audio the
// emulator generated for them (as long as the video it fetched), and judged by the tests' own box
// reader (test/support/muxed-oracle.ts), not by the library that wrote the file.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CacheService } from '../emulator/cache-service.ts';
import { GitHubApi, tokenPresets } from '../emulator/github-api.ts';
import { readZip } from '../emulator/results-service.ts';
import { VideoHost, type HostedVideo } from '../emulator/video-host.ts';
import { expectMuxed, videoTracks, playedSeconds } from '../support/muxed-oracle.ts';
import { JOB_TOKEN, type ActionRun } from '../support/run-action.ts';
import { errorMessage, routeRequests, startWorld, type World } from './world.ts';

let world: World;
let host: VideoHost;
beforeEach(async () => {
  world = await startWorld();
  host = await VideoHost.start();
});
afterEach(async () => {
  await Promise.all([world.close(), host.close()]);
});

interface Row {
  name: string;
  task_id: string | null;
  audio_path: string | null;
  video_path: string | null;
  muxed_path: string | null;
  error?: string;
}
const results = (run: ActionRun) => JSON.parse(run.outputs.results!) as Row[];

/** Every file of every artifact the step uploaded, by name. */
async function artifactFiles(): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const artifact of world.results.artifacts)
    for (const [name, bytes] of await readZip(artifact.blob)) files.set(name, bytes);
  return files;
}

const resultVideo = (taskId: string) => world.kling.media(taskId).mp4;

describe('mux: true', () => {
  it.each<[string, number, HostedVideo]>([
    ['an MP4 with sound, moov first, 3 s', 3, { audio: 'silence' }],
    ['an MP4 without sound, moov last, 20 s', 20, { layout: 'moov-last' }],
    ['a MOV with sound, moov last, 3 s', 3, { brand: 'qt  ', audio: 'silence', layout: 'moov-last' }],
    ['a MOV without sound, moov first, 20 s', 20, { brand: 'qt  ' }],
  ])(
    '%s: the picture copied, the generated AAC as its only sound, delivered',
    async (_name, seconds, spec) => {
      const url = host.video('clip', seconds, spec);
      const run = await world.run({ video_url: url, mux: 'true', preflight: 'true' });
      expect(run.code, run.stdout).toBe(0);
      const taskId = run.outputs.task_id!;
      const container = spec.brand === 'qt  ' ? 'mov' : 'mp4';
      const muxedPath = run.outputs.muxed_path!;
      expect(path.basename(muxedPath)).toBe(`${taskId}-muxed.${container}`);
      expectMuxed(readFileSync(muxedPath), host.bytes(url), {
        codec: 'aac',
        resultVideo: resultVideo(taskId),
      });
      // The emulator made audio as long as the video it fetched, as Kling does.
      expect(Number(run.outputs.duration)).toBeCloseTo(seconds, 1);

      // Kling's video was fetched for its AAC, and is not delivered without include_video.
      expect(routeRequests(world.kling, 'download').map((r) => path.basename(r.path))).toEqual([
        'audio.mp3',
        'video.mp4',
      ]);
      expect(run.outputs.video_path).toBeUndefined();
      expect(readdirSync(path.dirname(muxedPath)).sort()).toEqual(
        [`${taskId}.mp3`, `${taskId}-muxed.${container}`].sort(),
      );
      expect(run.outputs.files!.split('\n')).toEqual([run.outputs.audio_path, muxedPath]);
      expect(results(run)[0]!.muxed_path).toBe(muxedPath);
      const zipped = await artifactFiles();
      expect([...zipped.keys()].sort()).toEqual([`${taskId}.mp3`, `${taskId}-muxed.${container}`].sort());
      expect(zipped.get(`${taskId}-muxed.${container}`)!.equals(readFileSync(muxedPath))).toBe(true);
      expect(run.stdout).toMatch(
        new RegExp(
          `Muxed .* into ${taskId}-muxed\\.${container} \\(${container.toUpperCase()}, ${seconds}\\.00 s`,
        ),
      );
      expect(run.summary).toContain(`${taskId}-muxed.${container}`);
    },
  );

  it('a batch muxes every entry: results[].muxed_path, one muxed_path line per entry, every file listed', async () => {
    const mp4 = host.video('intro', 4, { audio: 'silence' });
    const mov = host.video('outro', 6, { brand: 'qt  ' });
    const run = await world.run({ videos: `${mp4}\n${mov}`, mux: 'true' });
    expect(run.code, run.stdout).toBe(0);
    const rows = results(run);
    expect(rows.map((r) => path.basename(r.muxed_path!))).toEqual([
      `${rows[0]!.task_id}-muxed.mp4`,
      `${rows[1]!.task_id}-muxed.mov`,
    ]);
    expect(run.outputs.muxed_path!.split('\n')).toEqual(rows.map((r) => r.muxed_path));
    for (const [i, source] of [mp4, mov].entries())
      expectMuxed(readFileSync(rows[i]!.muxed_path!), host.bytes(source), {
        codec: 'aac',
        resultVideo: resultVideo(rows[i]!.task_id!),
      });
    expect(run.outputs.files!.split('\n').sort()).toEqual(
      rows.flatMap((r) => [r.audio_path!, r.muxed_path!]).sort(),
    );
    expect((await artifactFiles()).size).toBe(4);
  });

  it('with include_video the delivered result video is used, fetched once', async () => {
    const url = host.video('clip', 5, { audio: 'silence' });
    const run = await world.run({ video_url: url, mux: 'true', include_video: 'true' });
    expect(run.code, run.stdout).toBe(0);
    expect(routeRequests(world.kling, 'download').filter((r) => r.path.endsWith('video.mp4'))).toHaveLength(
      1,
    );
    expect(run.outputs.files!.split('\n')).toEqual([
      run.outputs.audio_path,
      run.outputs.video_path,
      run.outputs.muxed_path,
    ]);
    expectMuxed(readFileSync(run.outputs.muxed_path!), host.bytes(url), {
      codec: 'aac',
      resultVideo: readFileSync(run.outputs.video_path!),
    });
  });

  it("falls back to the mp3 when Kling's video cannot be fetched, and says so", async () => {
    world.kling.setResultUrls((_taskId, own) => ({ ...own, mp4: `${own.mp4}.gone` }));
    const url = host.video('clip', 4);
    const run = await world.run({ video_url: url, mux: 'true' });
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(
      /::warning::Download of the mp4 file for \d+\.mp4 failed: .*HTTP 404.*; the soundtrack comes from the mp3 instead\./,
    );
    expect(run.stdout).toMatch(/Muxed .*: the picture copied as it is, the sound MP3 copied from \d+\.mp3\./);
    expectMuxed(readFileSync(run.outputs.muxed_path!), host.bytes(url), {
      codec: 'mp3',
      mp3: readFileSync(run.outputs.audio_path!),
    });
  });

  it('a fragmented source fails its entry with what to do; its audio is still delivered', async () => {
    const url = host.video('live', 5, { form: 'fragmented', audio: 'silence' });
    const run = await world.run({ video_url: url, mux: 'true' });
    expect(run.code).toBe(1);
    expect(errorMessage(run)).toMatch(
      /^mux: the video with sound could not be made: live-5s\.mp4 is a fragmented MP4 .*ffmpeg -i in\.mp4 -c copy -movflags \+faststart out\.mp4.*\. The audio \(\d+\.mp3\) is delivered all the same\.$/,
    );
    expect(run.outputs.task_status).toBe('succeed');
    expect(run.outputs.muxed_path ?? '').toBe('');
    expect(existsSync(run.outputs.audio_path!)).toBe(true);
    expect([...(await artifactFiles()).keys()]).toEqual([path.basename(run.outputs.audio_path!)]);
    expect(results(run)[0]).toMatchObject({
      muxed_path: null,
      error: expect.stringMatching(/fragmented MP4/),
    });
  });

  it('in a batch, an audio-only source fails alone: the other entry is muxed, every audio delivered', async () => {
    const good = host.video('good', 4, { audio: 'silence' });
    const bad = host.video('voice', 4, { form: 'audio-only', audio: 'silence' });
    const run = await world.run({ videos: `${good}\n${bad}`, mux: 'true' });
    expect(run.code).toBe(1);
    const [first, second] = results(run);
    expect(first!.error).toBeUndefined();
    expectMuxed(readFileSync(first!.muxed_path!), host.bytes(good), {
      codec: 'aac',
      resultVideo: resultVideo(first!.task_id!),
    });
    expect(second).toMatchObject({
      muxed_path: null,
      error: expect.stringMatching(/voice-4s\.mp4 has no video track/),
    });
    expect(errorMessage(run)).toMatch(
      /1 of 2 videos did not succeed:\n- .*voice-4s\.mp4: mux: .*has no video track/,
    );
    expect([...(await artifactFiles()).keys()].sort()).toEqual(
      [first!.audio_path!, first!.muxed_path!, second!.audio_path!].map((p) => path.basename(p)).sort(),
    );
  });

  it('with a video_id is an input error naming the reason, before any request', async () => {
    const single = await world.run({ video_id: '861254119619698760', mux: 'true' });
    expect(single.code).toBe(1);
    expect(errorMessage(single)).toBe(
      'Invalid input: mux: true puts the soundtrack into the source video, so it needs the video itself, and video_id names a video kept by Kling, not a file the action can read. Give the video as video_url, or leave mux off.',
    );
    const batch = await world.run({ videos: `${host.video('a', 4)}\n861254119619698760`, mux: 'true' });
    expect(errorMessage(batch)).toMatch(/videos entry 2 \(861254119619698760\) is a Kling video id/);
    expect(world.kling.requests).toEqual([]);
    expect(host.requests).toEqual([]);
  });
});

describe('mux: true with cache: true', () => {
  let cache: CacheService;
  beforeEach(async () => {
    cache = await CacheService.start();
  });
  afterEach(async () => cache.close());

  // The cache service shares ACTIONS_RESULTS_URL with the artifact service: these runs skip the artifact.
  const run = (url: string, extra: Record<string, string>, runId: string) =>
    world.run(
      { video_url: url, cache: 'true', preflight: 'true', upload_artifact: 'false', ...extra },
      { env: { ...cache.env(), GITHUB_RUN_ID: runId } },
    );

  it('caches the muxed file with the rest; a mux run never reuses a run without it', async () => {
    const url = host.video('cached', 5, { audio: 'silence' });
    const plain = await run(url, {}, '200');
    expect(plain.code, plain.stdout).toBe(0);

    const first = await run(url, { mux: 'true' }, '201');
    expect(first.code, first.stdout).toBe(0);
    expect(first.outputs.cache_hit).toBe('false');
    expect(first.outputs.task_id).not.toBe(plain.outputs.task_id);

    const creates = routeRequests(world.kling, 'create').length;
    const downloads = routeRequests(world.kling, 'download').length;
    const later = await run(url, { mux: 'true' }, '202');
    expect(later.code, later.stdout).toBe(0);
    expect(later.outputs.cache_hit).toBe('true');
    expect(routeRequests(world.kling, 'create')).toHaveLength(creates);
    expect(routeRequests(world.kling, 'download')).toHaveLength(downloads);
    expect(later.outputs.task_id).toBe(first.outputs.task_id);
    expect(path.basename(later.outputs.muxed_path!)).toBe(path.basename(first.outputs.muxed_path!));
    expect(readFileSync(later.outputs.muxed_path!).equals(readFileSync(first.outputs.muxed_path!))).toBe(
      true,
    );
    expect(results(later)[0]!.muxed_path).toBe(later.outputs.muxed_path);
    expect(later.stdout).not.toMatch(/Muxed /);
  });

  it('keeps a paid result whose mux failed: the next run muxes again from the cache, paying nothing', async () => {
    const url = host.video('live', 5, { form: 'fragmented', audio: 'silence' });
    const first = await run(url, { mux: 'true' }, '301');
    expect(first.code).toBe(1);
    expect(errorMessage(first)).toMatch(/fragmented MP4/);
    const creates = routeRequests(world.kling, 'create').length;
    expect(creates).toBe(1);

    const later = await run(url, { mux: 'true' }, '302');
    expect(later.code).toBe(1);
    expect(later.outputs.cache_hit).toBe('true');
    expect(later.outputs.task_id).toBe(first.outputs.task_id);
    expect(routeRequests(world.kling, 'create')).toHaveLength(creates);
    expect(errorMessage(later)).toMatch(/fragmented MP4.*The audio \(\d+\.mp3\) is delivered all the same/);
    expect(existsSync(later.outputs.audio_path!)).toBe(true);
  });
});

describe('mux: true with release_tag', () => {
  it('attaches the muxed video as <stem>.mov (video/quicktime) beside the audio', async () => {
    const github = await GitHubApi.start({ tokens: { [JOB_TOKEN]: tokenPresets.writeAll } });
    try {
      const release = github.createRelease({ tag: 'v2.0.0' });
      const url = host.video('teaser', 4, { brand: 'qt  ', audio: 'silence' });
      const run = await world.run(
        { video_url: url, mux: 'true', release_tag: 'v2.0.0' },
        { env: { ...github.env(), GITHUB_EVENT_NAME: 'push' } },
      );
      expect(run.code, run.stdout).toBe(0);
      const assets = github.assets(release.id);
      expect(assets.map((a) => [a.name, a.contentType]).sort()).toEqual([
        ['teaser-4s.mov', 'video/quicktime'],
        ['teaser-4s.mp3', 'audio/mpeg'],
      ]);
      const mov = assets.find((a) => a.name === 'teaser-4s.mov')!;
      expect(mov.bytes.equals(readFileSync(run.outputs.muxed_path!))).toBe(true);
      expect(videoTracks(mov.bytes)).toHaveLength(1);
      expect(playedSeconds(videoTracks(mov.bytes)[0]!)).toBeCloseTo(4, 3);
    } finally {
      await github.close();
    }
  });
});
