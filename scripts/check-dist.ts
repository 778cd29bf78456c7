// Fails when the committed dist/ is not the build of src/: rebuilds into a temp dir (scripts/build.ts,
// as `npm run build` does) and compares every file byte for byte, dist/licenses.txt included.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from './build.ts';

const root = path.resolve(import.meta.dirname, '..');
const fresh = mkdtempSync(path.join(tmpdir(), 'check-dist-'));
try {
  build(fresh);
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
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
