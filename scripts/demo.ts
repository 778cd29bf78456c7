// Offline demo: the built action (dist/index.js), run as the runner runs it, against the Kling emulator
// and the results-service fake on 127.0.0.1. No key, no network.
// Usage: npm run demo [-- --provider kling] [-- --file <video.mp4>] [-- --mux]
// With --file, the video is a file on the runner: copied into the workspace, staged in a local
// S3-compatible store (which checks every signature), fetched by the emulator, and deleted after.
// With --mux, the source video comes back with its new soundtrack too.
//
// It prints the inputs it gave (secrets masked), the action's log as the runner shows it (no
// ::debug:: lines, which a runner hides unless debug logging is on), the outputs, the job summary,
// and the files it downloaded: real media (test/emulator/media.ts), kept for you to play.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KlingEmulator } from '../test/emulator/kling-emulator.ts';
import { ObjectStore } from '../test/emulator/object-store.ts';
import { readZip, ResultsService } from '../test/emulator/results-service.ts';
import { VideoHost } from '../test/emulator/video-host.ts';
import { runAction } from '../test/support/run-action.ts';
import { runnerLog } from '../test/support/runner-log.ts';

const provider = process.argv.includes('--provider')
  ? process.argv[process.argv.indexOf('--provider') + 1]
  : 'cometapi';
const mux = process.argv.includes('--mux');
const DEMO_KEY = 'demo-api-key';
const SECRET_INPUTS = new Set(['api_key', 'access_key', 'secret_key', 'github_token']);
const kling = await KlingEmulator.start({
  apiKeys: [DEMO_KEY],
  accessKeys: { 'demo-access-key': 'demo-secret-key' },
  timeline: { submittedMs: 800, processingMs: 2500, outcome: 'succeed' },
});
const results = await ResultsService.start();
const source = await VideoHost.start();
const file = process.argv.includes('--file') ? process.argv[process.argv.indexOf('--file') + 1] : undefined;
if (process.argv.includes('--file') && !file) {
  console.error('--file needs the path of a video: npm run demo -- --file clip.mp4');
  process.exit(2);
}
const store = file ? await ObjectStore.start() : undefined;

const credentials: Record<string, string> =
  provider === 'kling'
    ? { provider: 'kling', access_key: 'demo-access-key', secret_key: 'demo-secret-key' }
    : { api_key: DEMO_KEY };
const inputs: Record<string, string> = {
  ...credentials,
  base_url: kling.url,
  // A real 6 s MP4 on loopback, so the preflight check has something to read (with --mux, with a
  // silent soundtrack for the generated one to replace); or the file given.
  ...(file
    ? {
        video_path: `renders/${path.basename(file)}`,
        staging_url: 's3://staging/kling',
        staging_endpoint: store!.url,
      }
    : { video_url: mux ? source.video('trailer', 6, { audio: 'silence' }) : source.video('trailer', 6) }),
  sound_effect_prompt: 'waves breaking on rocks, gulls',
  bgm_prompt: 'calm ambient piano',
  audio_format: 'both',
  include_video: 'true',
  poll_interval_seconds: '0.5',
  ...(mux ? { mux: 'true' } : {}),
};
// Outside the harness's scratch directory, which goes when this process ends: the files stay.
const workspace = mkdtempSync(path.join(tmpdir(), 'kling-demo-'));
if (file) {
  mkdirSync(path.join(workspace, 'renders'));
  copyFileSync(file, path.join(workspace, 'renders', path.basename(file)));
}

const heading = (text: string) => console.log(`\n\x1b[1m== ${text}\x1b[0m`);
const table = (rows: [string, string][]) => {
  const width = Math.max(...rows.map(([name]) => name.length)) + 2;
  // Multi-line values continue under their first line.
  for (const [name, value] of rows)
    console.log(`${name.padEnd(width)}${value.replace(/\n/g, `\n${' '.repeat(width)}`)}`);
};
try {
  heading(`Inputs (provider ${provider}; every other input has its action.yml default)`);
  table(Object.entries(inputs).map(([name, value]) => [name, SECRET_INPUTS.has(name) ? '***' : value]));

  heading(`Running dist/index.js against the emulator at ${kling.url}`);
  const run = await runAction({ inputs, env: { ...results.env(), ...store?.env() }, workspace });
  const log = runnerLog(run.stdout);
  if (log) console.log(log);
  if (run.stderr.trim()) console.log(run.stderr.trimEnd());

  heading(`Exit code ${run.code} after ${(run.durationMs / 1000).toFixed(1)} s. Outputs`);
  table(Object.entries(run.outputs).map(([name, value]) => [name, prettyJson(value)]));

  if (store) {
    heading('What the local S3-compatible store saw');
    for (const r of store.requests) console.log(`${r.method.padEnd(6)} ${r.bucket}/${r.key}  → ${r.status}`);
    console.log(`Left in the bucket: ${store.keys('staging').length} objects.`);
  }

  heading('Job summary (GITHUB_STEP_SUMMARY)');
  console.log(run.summary.trimEnd());

  heading('Artifacts the results-service fake received');
  for (const artifact of results.artifacts) {
    console.log(`${artifact.name} (id ${artifact.id}, ${artifact.size} bytes, sha256 ${artifact.sha256})`);
    const zipped = artifact.blob.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'));
    if (zipped)
      for (const [entry, bytes] of await readZip(artifact.blob))
        console.log(`  ${entry}  ${bytes.length} bytes`);
  }

  heading(`Files the action downloaded, kept in ${workspace}`);
  const files = listFiles(workspace);
  for (const file of files) console.log(`${String(statSync(file).size).padStart(9)}  ${file}`);
  if (files.length > 0) {
    console.log(
      '\nThe emulator serves a short C major arpeggio (and, in the mp4, a matching picture). Play them with' +
        ` any media player, e.g.\n  ffplay -autoexit ${files[0]}   (or: open FILE on macOS, xdg-open FILE on Linux)` +
        `\nand remove them with: rm -r ${workspace}`,
    );
  }
  const muxed = run.outputs.muxed_path;
  if (muxed)
    console.log(
      `\nThe muxed video is the source's picture, bit for bit, with the generated sound. Read it with\n` +
        `  ffprobe -hide_banner -show_entries stream=index,codec_name,codec_type,duration:format=format_name,duration ${muxed}`,
    );
  process.exitCode = run.code ?? 1;
} finally {
  await Promise.all([kling.close(), results.close(), source.close(), store?.close()]);
}

function prettyJson(value: string): string {
  if (!/^[[{]/.test(value)) return value;
  try {
    return JSON.stringify(JSON.parse(value), null, 2);
  } catch {
    return value;
  }
}

function listFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = path.join(dir, name);
      return statSync(full).isDirectory() ? listFiles(full) : [full];
    });
}
