// The three layers show in the tree, and the arrows point one way: step → task → API, all on net/.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/run-action.ts';

const SRC = path.join(REPO_ROOT, 'src');

/** Each local module of src/ (relative path) → the local modules it imports. */
function importGraph(): Map<string, string[]> {
  const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(path.join(SRC, file), 'utf8');
    const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)].map(
      (m) => m[1]!,
    );
    const local = specifiers
      .map((s) => path.relative(SRC, path.resolve(path.dirname(path.join(SRC, file)), s)))
      .filter((target) => !target.startsWith('..'));
    graph.set(file, local);
  }
  return graph;
}

/**
 * The floors, lowest first: a module may import its own floor and the ones below, never one above.
 * The step's stages have floors of their own, so an arrow such as cache → inputs or report → deliver
 * is caught; `main.ts` (the story), `action.ts` (the runner's wiring) and `index.ts` sit on top.
 */
const FLOORS: { name: string; holds: (module: string) => boolean }[] = [
  { name: 'foundation', holds: (m) => ['policy.ts', 'runtime.ts', 'constants.ts'].includes(m) },
  { name: 'net/', holds: (m) => m.startsWith('net/') },
  { name: 'the APIs (kling/, s3/, media/)', holds: (m) => /^(kling|s3|media)\//.test(m) },
  { name: 'task/ and preflight/', holds: (m) => /^(task|preflight)\//.test(m) },
  { name: 'sources/', holds: (m) => m.startsWith('sources/') },
  { name: 'report/', holds: (m) => m.startsWith('report/') },
  { name: 'step/ (pool, cache, tasks, advice)', holds: (m) => m.startsWith('step/') },
  { name: 'after/ (stages after the task: mux)', holds: (m) => m.startsWith('after/') },
  { name: 'deliver/', holds: (m) => m.startsWith('deliver/') },
  { name: 'inputs/', holds: (m) => m.startsWith('inputs/') },
  { name: 'the story and the wiring', holds: (m) => !m.includes('/') },
];

function layerOf(module: string): number {
  const floor = FLOORS.findIndex((f) => f.holds(module));
  if (floor === -1) throw new Error(`${module} is on no floor: add its folder to FLOORS`);
  return floor;
}

const NAMES = FLOORS.map((f) => f.name);

describe('layers', () => {
  const graph = importGraph();

  it('finds the modules the layers are made of', () => {
    const modules = [...graph.keys()];
    for (const expected of [
      'main.ts',
      'action.ts',
      'index.ts',
      'policy.ts',
      'net/retry.ts',
      'kling/client.ts',
      's3/client.ts',
      'task/run-task.ts',
      'media/mux.ts',
      'sources/source.ts',
      'step/tasks.ts',
      'after/mux.ts',
      'deliver/delivery.ts',
      'inputs/read.ts',
    ])
      expect(modules).toContain(expected);
  });

  it('no module imports from a layer above its own', () => {
    const upward = [...graph].flatMap(([from, targets]) =>
      targets
        .filter((to) => layerOf(to) > layerOf(from))
        .map((to) => `${from} (${NAMES[layerOf(from)]}) imports ${to} (${NAMES[layerOf(to)]})`),
    );
    expect(upward).toEqual([]);
  });

  it('kling/, s3/, media/, task/ and preflight/ never name an action input (they never import constants.ts or inputs/)', () => {
    const named = [...graph]
      .filter(([from]) =>
        ['kling/', 's3/', 'media/', 'task/', 'preflight/'].some((floor) => from.startsWith(floor)),
      )
      .filter(([, targets]) => targets.some((t) => t === 'constants.ts' || t.startsWith('inputs/')));
    expect(named).toEqual([]);
  });

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (module: string, trail: string[]) => {
      if (state.get(module) === 'done') return;
      if (state.get(module) === 'visiting') {
        cycles.push([...trail.slice(trail.indexOf(module)), module].join(' → '));
        return;
      }
      state.set(module, 'visiting');
      for (const next of graph.get(module) ?? []) visit(next, [...trail, module]);
      state.set(module, 'done');
    };
    for (const module of graph.keys()) visit(module, []);
    expect(cycles).toEqual([]);
  });

  it('index.ts only calls run()', () => {
    const code = readFileSync(path.join(SRC, 'index.ts'), 'utf8')
      .replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
      .trim();
    expect(code).toBe("import { run } from './action.ts';\n\nawait run();");
  });
});
