// `node scripts/compare-e2e-snapshots.ts <before> <after>`: compares what two e2e runs recorded with
// E2E_SNAPSHOT_FILE (outputs, summary, annotations of every run, by test). Numbers (ports, task ids,
// times), scratch directories, request ids, status timelines and artifact digests differ from run to run
// and are normalised first; retry notices, which come with timing, are left out.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface Snapshot {
  test: string;
  outputs: Record<string, string>;
  summary: string;
  annotations: string[];
}

function load(prefix: string): Map<string, string[]> {
  const dir = path.dirname(prefix);
  const byTest = new Map<string, string[]>();
  const lines = readdirSync(dir)
    .filter((name) => name.startsWith(`${path.basename(prefix)}.`))
    .flatMap((name) => readFileSync(path.join(dir, name), 'utf8').split('\n').filter(Boolean));
  for (const line of lines) {
    const snapshot = JSON.parse(line) as Snapshot;
    const test = normalise(snapshot.test);
    const runs = byTest.get(test) ?? [];
    // Outputs are set as facts arrive, so their order follows timing; retry notices come and go with it.
    const outputs = Object.fromEntries(
      Object.entries(snapshot.outputs).sort(([a], [b]) => a.localeCompare(b)),
    );
    const annotations = snapshot.annotations.filter((line) => !/retrying in /.test(line));
    runs.push(normalise(JSON.stringify({ outputs, summary: snapshot.summary, annotations }, null, 1)));
    byTest.set(test, runs);
  }
  return byTest;
}

function normalise(text: string): string {
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID')
    .replace(/ \((?:submitted|processing|succeed|failed) at [^)]*\)/g, '')
    .replace(/-[A-Za-z0-9]{6}(?=[/\\"])/g, '-SCRATCH')
    .replace(/\.[0-9a-f]{8}\.new\b/g, '.HEX.new')
    .replace(/[0-9a-f]{16,}/g, 'HEX')
    .replace(/\d+(\.\d+)?/g, 'N');
}

const [before, after] = process.argv.slice(2);
if (!before || !after) {
  console.error('usage: node scripts/compare-e2e-snapshots.ts <before-prefix> <after-prefix>');
  process.exit(2);
}
const a = load(before);
const b = load(after);
let differences = 0;
for (const test of new Set([...a.keys(), ...b.keys()])) {
  const x = (a.get(test) ?? []).sort();
  const y = (b.get(test) ?? []).sort();
  if (JSON.stringify(x) === JSON.stringify(y)) continue;
  differences++;
  console.log(`≠ ${test} (${x.length} runs before, ${y.length} after)`);
  const first = x.findIndex((run, i) => run !== y[i]);
  const [l, r] = [(x[first] ?? '').split('\n'), (y[first] ?? '').split('\n')];
  const line = l.findIndex((text, i) => text !== r[i]);
  const [x0 = '', y0 = ''] = [l[line], r[line]];
  let at = 0;
  while (at < x0.length && x0[at] === y0[at]) at++;
  const from = Math.max(0, at - 80);
  console.log(`  before: …${x0.slice(from, at + 200)}\n  after:  …${y0.slice(from, at + 200)}`);
}
console.log(`${a.size} tests before, ${b.size} after; ${differences} differ.`);
process.exit(differences === 0 ? 0 : 1);
