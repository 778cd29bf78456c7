// Fails when the committed dist/ is not the build of src/: rebuilds into a temp dir and compares byte for byte.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const fresh = mkdtempSync(path.join(tmpdir(), 'check-dist-'));
try {
  execFileSync(
    process.execPath,
    [
      path.join(root, 'node_modules/@vercel/ncc/dist/ncc/cli.js'),
      'build',
      'src/index.ts',
      '-o',
      fresh,
      '--license',
      'licenses.txt',
      '--target',
      'es2022',
      '--quiet',
    ],
    { cwd: root, stdio: 'inherit' },
  );
  const list = (dir: string) => readdirSync(dir).sort();
  const committed = path.join(root, 'dist');
  const names = new Set([...list(fresh), ...list(committed)]);
  const stale = [...names].filter((name) => {
    try {
      return !readFileSync(path.join(fresh, name)).equals(readFileSync(path.join(committed, name)));
    } catch {
      return true;
    }
  });
  if (stale.length > 0) {
    console.error(
      `dist/ is stale (differs from a fresh build of src/): ${stale.join(', ')}. Run \`npm run build\` and commit dist/.`,
    );
    process.exit(1);
  }
  console.log('dist/ matches a fresh build of src/.');
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
