// Builds dist/ (`npm run build`): ncc bundles src/index.ts into dist/index.js and the chunks it loads
// on demand, then dist/licenses.txt is written from webpack's list of the modules in them
// (scripts/licenses.ts). `node scripts/build.ts DIR` builds into DIR instead (scripts/check-dist.ts).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { noticesFor, renderNotices, type BundleStats } from './licenses.ts';

const root = path.resolve(import.meta.dirname, '..');

/** Bundles src/ into `outDir` (emptied first) and returns webpack's stats of the build. */
export function bundle(outDir: string): BundleStats {
  rmSync(outDir, { recursive: true, force: true });
  const scratch = mkdtempSync(path.join(tmpdir(), 'build-stats-'));
  const statsFile = path.join(scratch, 'stats.json');
  try {
    execFileSync(
      process.execPath,
      [
        path.join(root, 'node_modules/@vercel/ncc/dist/ncc/cli.js'),
        'build',
        'src/index.ts',
        '-o',
        outDir,
        '--target',
        'es2022',
        '--stats-out',
        statsFile,
        '--quiet',
      ],
      { cwd: root, stdio: 'inherit' },
    );
    return JSON.parse(readFileSync(statsFile, 'utf8')) as BundleStats;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The bundle and its third-party notices. */
export function build(outDir: string): void {
  const stats = bundle(outDir);
  writeFileSync(path.join(outDir, 'licenses.txt'), renderNotices(noticesFor(stats)));
}

if (import.meta.main) {
  try {
    build(path.resolve(root, process.argv[2] ?? 'dist'));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
