// Offline demo: the built action (dist/index.js), run as the runner runs it, against the Kling emulator
// and the results-service fake on 127.0.0.1. No key, no network. Usage: npm run demo [-- --provider kling]
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { KlingEmulator } from '../test/emulator/kling-emulator.ts';
import { readZip, ResultsService } from '../test/emulator/results-service.ts';
import { runAction } from '../test/support/run-action.ts';

const provider = process.argv.includes('--provider')
  ? process.argv[process.argv.indexOf('--provider') + 1]
  : 'cometapi';
const DEMO_KEY = 'demo-api-key';
const kling = await KlingEmulator.start({
  apiKeys: [DEMO_KEY],
  accessKeys: { 'demo-access-key': 'demo-secret-key' },
  timeline: { submittedMs: 800, processingMs: 2500, outcome: 'succeed' },
});
const results = await ResultsService.start();

const credentials: Record<string, string> =
  provider === 'kling'
    ? { provider: 'kling', access_key: 'demo-access-key', secret_key: 'demo-secret-key' }
    : { api_key: DEMO_KEY };

const heading = (text: string) => console.log(`\n\x1b[1m== ${text}\x1b[0m`);
try {
  heading(`Running dist/index.js (provider ${provider}) against the emulator at ${kling.url}`);
  const run = await runAction({
    inputs: {
      ...credentials,
      base_url: kling.url,
      video_url: 'https://example.com/trailer.mp4',
      sound_effect_prompt: 'waves breaking on rocks, gulls',
      bgm_prompt: 'calm ambient piano',
      audio_format: 'both',
      include_video: 'true',
      poll_interval_seconds: '0.5',
    },
    env: results.env(),
  });
  console.log(run.stdout.trimEnd());
  if (run.stderr.trim()) console.log(run.stderr.trimEnd());

  heading(`Exit code ${run.code} after ${(run.durationMs / 1000).toFixed(1)} s. Outputs`);
  // Multi-line values (files) continue under their first line.
  for (const [name, value] of Object.entries(run.outputs))
    console.log(`${name.padEnd(18)} ${value.replace(/\n/g, `\n${' '.repeat(19)}`)}`);

  heading('Job summary (GITHUB_STEP_SUMMARY)');
  console.log(run.summary.trimEnd());

  heading(`Files in the workspace (${run.workspace})`);
  for (const file of listFiles(run.workspace))
    console.log(`${String(statSync(file).size).padStart(9)}  ${file}`);

  heading('Artifacts the results-service fake received');
  for (const artifact of results.artifacts) {
    console.log(`${artifact.name} (id ${artifact.id}, ${artifact.size} bytes, sha256 ${artifact.sha256})`);
    for (const [entry, bytes] of await readZip(artifact.blob))
      console.log(`  ${entry}  ${bytes.length} bytes`);
  }
  process.exitCode = run.code ?? 1;
} finally {
  await Promise.all([kling.close(), results.close()]);
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? listFiles(full) : [full];
  });
}
