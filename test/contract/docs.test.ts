// The promises to users in three places must agree: the interface contract, action.yml and the README;
// and the docs hold together: their examples parse, their links lead somewhere.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Inputs, Outputs } from '../../src/constants.ts';
import { classifyFailure, type FailureFacts } from '../../src/kling/errors.ts';
import { readInputs, type InputError } from '../../src/inputs/read.ts';
import { docFiles } from '../support/docs.ts';

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
  return readmeRows(section, 2);
}

/** First-column names and the given column of the Markdown tables between two markers. */
function readmeRows(section: 'inputs' | 'outputs', column: number): Map<string, string> {
  const text = read('README.md');
  const block = text.slice(
    text.indexOf(`<!-- ${section}:start -->`),
    text.indexOf(`<!-- ${section}:end -->`),
  );
  const rows = new Map<string, string>();
  for (const line of block.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const name = cells[1]?.match(/^`([a-z_]+)`$/)?.[1];
    if (name) rows.set(name, cells[column] ?? '');
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
    // The post step deletes what a cancelled or dead step left staged, whatever happened before.
    expect(action.runs).toEqual({
      using: 'node24',
      main: 'dist/index.js',
      post: 'dist/index.js',
      'post-if': 'always()',
    });
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

  it.each([Inputs.TimeoutSeconds, Inputs.PollIntervalSeconds, Inputs.MaxConcurrency, Inputs.RetentionDays])(
    'gives the range of %s that the action enforces',
    (name) => {
      // The action's own message for a value out of range names the range.
      let message = '';
      try {
        readInputs(
          (input) => ({ video_url: 'https://example.com/a.mp4', api_key: 'k', [name]: '-1' })[input] ?? '',
          '/w',
        );
      } catch (error) {
        message = (error as InputError).problems.join(' ');
      }
      const [, min, max] = /from ([\d.]+) to ([\d.]+)/.exec(message) ?? [];
      expect(min, message).toBeDefined();
      const description = readmeRows('inputs', 3).get(name)!;
      // "1–50", or for retention_days "… up to 400 … 0 or empty …".
      for (const bound of [min!, max!])
        expect(description, name).toMatch(
          new RegExp(`(?<![\\d.])${bound.replace('.', '\\.')}(?!\\d|\\.\\d)`),
        );
    },
  );

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

describe('examples in the README and the docs', () => {
  const yamlBlocks = (file: string) => [...read(file).matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const blocks = docFiles().flatMap(yamlBlocks);

  it('has workflow examples to check', () => {
    expect(yamlBlocks('README.md').length).toBeGreaterThanOrEqual(5);
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

describe('links in the README and the docs', () => {
  /** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
  const anchor = (heading: string) =>
    heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
  const anchors = (file: string) =>
    new Set(
      read(file)
        .replace(/```[\s\S]*?```/g, '')
        .split('\n')
        .filter((line) => /^#{1,6} /.test(line))
        .map((line) => anchor(line.replace(/^#+ /, ''))),
    );

  /** Relative link targets: inline and reference-style, outside code blocks. */
  const links = (file: string) => {
    const text = read(file).replace(/```[\s\S]*?```/g, '');
    return [
      ...[...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!),
      ...[...text.matchAll(/^\[[^\]]+\]: (\S+)$/gm)].map((m) => m[1]!),
    ].filter((target) => !/^[a-z]+:/.test(target));
  };

  it('finds the links of the README', () => {
    expect(links('README.md').length).toBeGreaterThan(10);
  });

  it.each(docFiles())('%s links only to files and headings that exist', (file) => {
    const targets = links(file);
    const broken = targets.filter((target) => {
      const [relative, hash] = target.split('#') as [string, string | undefined];
      const linked =
        relative === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), relative));
      if (!existsSync(path.join(root, linked))) return true;
      return hash !== undefined && !anchors(linked).has(hash);
    });
    expect(broken, `${file}: links to nothing`).toEqual([]);
  });
});
