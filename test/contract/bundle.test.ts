// What the runner compiles before the first request: the main bundle. Whatever a step may not need
// (the artifact client, Octokit, the cache client, jose, Mediabunny) lives in chunks loaded on first use,
// and the HTTP stack is in it once.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const dist = path.join(root, 'dist');
const main = readFileSync(path.join(dist, 'index.js'), 'utf8');
const chunks = readdirSync(dist)
  .filter((name) => /^\d+\.index\.js$/.test(name))
  .map((name) => readFileSync(path.join(dist, name), 'utf8'))
  .join('\n');

/** Where Node finds `name` from a package at `from`: its own node_modules, then each parent's. */
function packageDir(name: string, from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === path.dirname(dir)) throw new Error(`${name} is not installed above ${from}`);
  }
}

describe('the main bundle', () => {
  // A name only each library's own code carries.
  it.each([
    ['@actions/artifact (Azure blob client)', 'class BlockBlobClient'],
    ['@actions/github (Octokit)', 'class Octokit'],
    ['@actions/cache', 'GetCacheEntryDownloadURL'],
    ['jose', 'class SignJWT'],
    ['mediabunny', 'class IsobmffMuxer'],
    ['@actions/glob (minimatch)', 'class Minimatch'],
  ])('leaves %s to a chunk', (_library, marker) => {
    expect(chunks).toContain(marker);
    expect(main).not.toContain(marker);
  });

  it('holds one undici: ours resolves to the copy @actions/core loads through @actions/http-client', () => {
    // Two copies would be two HTTP stacks to compile before the first request (package.json keeps
    // ours on http-client's major so that npm dedupes them).
    const httpClient = packageDir('@actions/http-client', packageDir('@actions/core', root));
    expect(packageDir('undici', httpClient)).toBe(packageDir('undici', root));
    expect(main.match(/^class Agent extends DispatcherBase \{/gm)).toHaveLength(1);
  });
});
