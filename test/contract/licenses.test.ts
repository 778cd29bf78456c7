// The third-party notices that travel with the bundle (dist/licenses.txt) name every package whose code
// is in dist/, the lazily loaded chunks included, with its licence text and NOTICE files.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle } from '../../scripts/build.ts';
import { noticeOf, renderNotices, type BundleStats } from '../../scripts/licenses.ts';

const root = path.resolve(import.meta.dirname, '../..');

interface Entry {
  license: string;
  files: string[];
  body: string;
}

/** dist/licenses.txt's entries by `name@version`. */
function committedNotices(): Map<string, Entry> {
  const text = readFileSync(path.join(root, 'dist/licenses.txt'), 'utf8');
  const entries = new Map<string, Entry>();
  for (const block of text.split(/^-{78}$/m).slice(1)) {
    const [heading, license, , files] = block.trim().split('\n');
    const [name, version] = heading!.split(' ');
    entries.set(`${name}@${version}`, {
      license: license!.replace(/^License: /, ''),
      files: files!.replace(/^In: /, '').split(', '),
      body: block,
    });
  }
  return entries;
}

/** The package a bundled file belongs to: the nearest package.json above it with a name and version. */
function owningPackage(file: string): { dir: string; id: string } | undefined {
  for (
    let dir = path.dirname(file);
    dir.startsWith(path.join(root, 'node_modules'));
    dir = path.dirname(dir)
  ) {
    try {
      const json = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (json.name && json.version) return { dir, id: `${json.name}@${json.version}` };
    } catch {
      // No package.json here: look further up.
    }
  }
  return undefined;
}

describe('dist/licenses.txt against the bundle webpack builds', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'licenses-build-'));
  /** name@version → package folders, for every module file of a package in an emitted chunk. */
  const bundled = new Map<string, Set<string>>();
  const notices = committedNotices();

  beforeAll(() => {
    const stats = bundle(out);
    const visit = (module: BundleStats['modules'][number], inChunk: boolean) => {
      const emitted = inChunk || module.chunks.length > 0;
      for (const inner of module.modules ?? []) visit(inner, emitted);
      const owner = emitted && module.nameForCondition ? owningPackage(module.nameForCondition) : undefined;
      if (owner) bundled.set(owner.id, (bundled.get(owner.id) ?? new Set()).add(owner.dir));
    };
    for (const module of stats.modules) visit(module, false);
  }, 180_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('names every package with code in the bundle, main bundle and chunks alike', () => {
    expect(bundled.size).toBeGreaterThan(100);
    // Packages of the main bundle that ncc's own --license list leaves out.
    for (const name of ['@actions/core', 'undici', 'tunnel'])
      expect(
        [...bundled.keys()].some((id) => id.startsWith(`${name}@`)),
        name,
      ).toBe(true);
    const missing = [...bundled.keys()].filter((id) => !notices.has(id));
    expect(missing, 'bundled, but not in dist/licenses.txt: run npm run build').toEqual([]);
    const extra = [...notices.keys()].filter((id) => !bundled.has(id));
    expect(extra, 'in dist/licenses.txt, but not in the bundle').toEqual([]);
  });

  it('gives each one its licence and the text of every licence and NOTICE file it ships', () => {
    const chunks = readdirSync(path.join(root, 'dist')).filter((file) => file.endsWith('.js'));
    for (const [id, dirs] of bundled) {
      const entry = notices.get(id);
      if (!entry) continue; // reported above
      expect(entry.license, id).toMatch(/^[\w.()+ -]+$/);
      for (const file of entry.files) expect(chunks, `${id} is said to be in ${file}`).toContain(file);
      for (const dir of dirs)
        for (const file of readdirSync(dir).filter((f) => /^(licen[cs]e|copying|notice)/i.test(f)))
          expect(entry.body, `${id}: ${file}`).toContain(readFileSync(path.join(dir, file), 'utf8').trim());
      // A licence file's words, or the licence's own words for a package that ships none.
      expect(entry.body, id).toMatch(/permission|licensed under|redistribution and use|granted/i);
    }
  });
});

describe('the notices of one package', () => {
  let scratch: string;
  const fakePackage = (name: string, json: Record<string, unknown>, files: Record<string, string> = {}) => {
    const dir = path.join(scratch, 'node_modules', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', ...json }));
    for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
    return { dir, files: ['index.js'] };
  };
  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'licenses-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('refuses a package that states no licence, naming where to add one', () => {
    expect(() => noticeOf(fakePackage('silent', {}))).toThrow(
      /silent@1\.0\.0 .*states no licence.*OVERRIDES/,
    );
  });

  it('refuses a licence nobody reviewed', () => {
    expect(() => noticeOf(fakePackage('copyleft', { license: 'GPL-3.0-only' }))).toThrow(
      /copyleft@1\.0\.0 .*GPL-3\.0-only is not among the reviewed licences/,
    );
  });

  it('carries an Apache NOTICE file next to the licence', () => {
    const notice = noticeOf(
      fakePackage(
        'apache',
        { license: 'Apache-2.0' },
        { LICENSE: 'Apache License 2.0 text', NOTICE: 'Apache thing\nCopyright 2026 Someone' },
      ),
    );
    expect(notice.texts).toEqual([
      { from: 'LICENSE', text: 'Apache License 2.0 text' },
      { from: 'NOTICE', text: 'Apache thing\nCopyright 2026 Someone' },
    ]);
  });

  it('says where MPL-2.0 code is available in source form', () => {
    const notice = noticeOf(
      fakePackage(
        'mozilla',
        { license: 'MPL-2.0', repository: 'github:someone/mozilla' },
        { LICENSE: 'MPL text' },
      ),
    );
    expect(notice.source).toBe(
      'https://github.com/someone/mozilla (https://www.npmjs.com/package/mozilla/v/1.0.0)',
    );
    expect(renderNotices([notice])).toContain(
      'MPL-2.0 code (mozilla) is available in source form at the address its entry gives.',
    );
  });

  it("gives the MIT licence's words to a package that states MIT and ships no file", () => {
    const notice = noticeOf(fakePackage('bare', { license: 'MIT/X11', author: 'A. Person <a@example.com>' }));
    expect(notice.license).toBe('MIT');
    expect(notice.texts[0]!.text).toMatch(
      /^Author, as package\.json names it: A\. Person <a@example\.com>\n\nPermission is hereby granted/,
    );
  });
});
