// The promises to users in three places must agree: the interface contract, action.yml and the README.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Inputs, Outputs } from '../../src/constants.ts';
import { classifyFailure, type FailureFacts } from '../../src/kling/errors.ts';

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

interface ActionYml {
  inputs: Record<string, { description: string; default?: string; required?: boolean }>;
  outputs: Record<string, { description: string }>;
  runs: { using: string; main: string };
  branding?: { icon: string; color: string };
}
const action = parse(read('action.yml')) as ActionYml;

/** First-column names and second-column defaults of the Markdown table between two markers. */
function readmeTable(section: 'inputs' | 'outputs'): Map<string, string> {
  const text = read('README.md');
  const block = text.slice(
    text.indexOf(`<!-- ${section}:start -->`),
    text.indexOf(`<!-- ${section}:end -->`),
  );
  const rows = new Map<string, string>();
  for (const line of block.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const name = cells[1]?.match(/^`([a-z_]+)`$/)?.[1];
    if (name) rows.set(name, cells[2] ?? '');
  }
  return rows;
}

/** Names in the first column of a table under a heading of ../shared/interface.md (split `a`, `b` rows). */
function interfaceNames(heading: string): string[] {
  const text = readFileSync(path.join(root, '../shared/interface.md'), 'utf8');
  const section = text.slice(text.indexOf(`## ${heading}`)).split('\n## ')[0]!;
  return section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .flatMap((l) => [...l.split('|')[1]!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!));
}

describe('action.yml', () => {
  it('runs on node24 from the committed bundle and has branding', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
    expect(action.branding?.icon).toBeTruthy();
  });

  it('declares every input and output of the interface, each described', () => {
    const sharedInterface = path.join(root, '../shared/interface.md');
    const hasInterface = (() => {
      try {
        return readFileSync(sharedInterface).length > 0;
      } catch {
        return false;
      }
    })();
    if (hasInterface) {
      expect(Object.keys(action.inputs)).toEqual(
        expect.arrayContaining(interfaceNames('Inputs (action.yml)')),
      );
      expect(Object.keys(action.outputs)).toEqual(expect.arrayContaining(interfaceNames('Outputs')));
    }
    for (const spec of [...Object.values(action.inputs), ...Object.values(action.outputs)])
      expect(spec.description.length).toBeGreaterThan(10);
  });

  it('matches the names the code reads and writes', () => {
    expect(Object.keys(action.inputs).sort()).toEqual(Object.values(Inputs).sort());
    expect(Object.keys(action.outputs).sort()).toEqual(Object.values(Outputs).sort());
  });

  it('marks nothing required (the action checks combinations itself, with better messages)', () => {
    for (const spec of Object.values(action.inputs)) expect(spec.required ?? false).toBe(false);
  });
});

describe('README', () => {
  it('documents every input with the default action.yml applies', () => {
    const documented = readmeTable('inputs');
    expect([...documented.keys()].sort()).toEqual(Object.keys(action.inputs).sort());
    for (const [name, spec] of Object.entries(action.inputs)) {
      const cell = documented.get(name)!;
      if (spec.default !== undefined) expect(cell, name).toBe(`\`${spec.default}\``);
      // Computed defaults are described (`kling-audio-<task_id>`, "per provider"), never a plain literal.
      else expect(cell, `${name} has no default in action.yml`).not.toMatch(/^`[^<`]*`$/);
    }
  });

  it('documents every output', () => {
    expect([...readmeTable('outputs').keys()].sort()).toEqual(Object.keys(action.outputs).sort());
  });

  it('gives the test command that .ci/run runs', () => {
    const command = 'npm ci && npm test';
    expect(read('README.md')).toContain(command);
    expect(read('.ci/run').split('\n')).toContain(command);
  });
});

describe("README's troubleshooting table", () => {
  const text = read('README.md');
  const section = text.slice(text.indexOf('## When things go wrong')).split('\n## ')[0]!;
  /** Each row's API codes (`Kling code N`, a bare `N` beside one, `HTTP N`), with the row's own words. */
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [what = '', meaning = '', todo = ''] = line
        .split('|')
        .slice(1)
        .map((cell) => cell.trim());
      const spans = [...what.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
      const kling = spans.some((span) => span.startsWith('Kling code'));
      const facts: FailureFacts[] = spans.flatMap((span) => {
        const code = /^(?:Kling code )?(\d{4})$/.exec(span);
        if (code && kling) return [{ status: 200, klingCode: Number(code[1]) }];
        const status = /^HTTP (\d{3})$/.exec(span);
        return status ? [{ status: Number(status[1]) }] : [];
      });
      return { what, meaning, todo, facts };
    })
    .filter((row) => row.facts.length > 0);

  it('finds the rows that name API codes', () => {
    expect(rows.map((row) => row.what).join('\n')).toMatch(/HTTP 429/);
    expect(rows.length).toBeGreaterThanOrEqual(4);
  });

  it('puts together only codes the action handles alike, and says "retried" exactly where it retries', () => {
    for (const row of rows) {
      const classes = row.facts.map((facts) => classifyFailure(facts));
      expect(
        new Set(classes.map((c) => c.kind)).size,
        `${row.what}: ${classes.map((c) => c.kind).join(', ')}`,
      ).toBe(1);
      const retried = classes[0]!.retryable;
      if (retried) expect(`${row.meaning} ${row.todo}`, row.what).toMatch(/retried|wait/i);
      else expect(row.todo, row.what).not.toMatch(/retried automatically/i);
    }
  });
});

describe('README examples', () => {
  const blocks = [...read('README.md').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

  it('has workflow examples to check', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
  });

  it.each(blocks.map((block, i) => [i + 1, block] as const))('yaml block %i parses', (_n, block) => {
    expect(() => {
      parse(block, { prettyErrors: true });
    }).not.toThrow();
  });

  it('passes outputs to shell scripts through env:, never ${{ }} inside run:', () => {
    const runs: string[] = [];
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(collect);
      else if (node && typeof node === 'object')
        for (const [key, value] of Object.entries(node)) {
          if (key === 'run' && typeof value === 'string') runs.push(value);
          else collect(value);
        }
    };
    for (const block of blocks) collect(parse(block) as unknown);
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) expect(run).not.toContain('${{');
  });
});
