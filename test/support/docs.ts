// The Markdown a user or contributor reads, for the contract tests that keep it true.
import { readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

/** README.md, docs/*.md, CONTRIBUTING.md and SECURITY.md, relative to the repository. */
export function docFiles(): string[] {
  const docs = readdirSync(path.join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs, 'CONTRIBUTING.md', 'SECURITY.md'];
}
