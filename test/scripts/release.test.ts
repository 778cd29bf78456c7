import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  formatVersion,
  latestVersionTag,
  majorTagName,
  parseVersion,
  pushCommands,
  releaseChangelog,
  releaseNotes,
  releaseProblems,
  setLockVersion,
  setPackageVersion,
  tagName,
  type RepositoryState,
} from '../../scripts/release.ts';

const root = path.resolve(import.meta.dirname, '../..');
const v = parseVersion;

describe('parseVersion', () => {
  it.each([
    ['1.2.3', { major: 1, minor: 2, patch: 3, prerelease: [] }],
    ['v1.2.3', { major: 1, minor: 2, patch: 3, prerelease: [] }],
    ['0.0.0', { major: 0, minor: 0, patch: 0, prerelease: [] }],
    ['10.20.30-rc.1', { major: 10, minor: 20, patch: 30, prerelease: ['rc', '1'] }],
    ['1.0.0-alpha-2.x.0', { major: 1, minor: 0, patch: 0, prerelease: ['alpha-2', 'x', '0'] }],
  ])('reads %s', (text, version) => {
    expect(parseVersion(text)).toEqual(version);
  });

  it.each([
    '1.2',
    '1.2.3.4',
    '01.2.3',
    '1.02.3',
    '1.2.3-',
    '1.2.3-01',
    '1.2.3+build.5',
    'V1.2.3',
    'latest',
    '',
  ])('refuses %j', (text) => {
    expect(() => parseVersion(text)).toThrow(/not a semantic version/);
  });

  it('refuses numbers too large to compare exactly', () => {
    expect(() => parseVersion('99999999999999999999.0.0')).toThrow(/not a semantic version/);
  });

  it('formats back to the same text, without the v', () => {
    for (const text of ['1.2.3', '0.1.0', '2.0.0-beta.11']) expect(formatVersion(v(text))).toBe(text);
    expect(formatVersion(v('v3.4.5'))).toBe('3.4.5');
  });
});

describe('compareVersions', () => {
  it("orders semver.org's precedence example", () => {
    const ordered = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.0.1',
      '1.1.0',
      '1.10.0',
      '2.0.0',
    ];
    for (let i = 0; i < ordered.length; i++)
      for (let j = 0; j < ordered.length; j++)
        expect(
          Math.sign(compareVersions(v(ordered[i]!), v(ordered[j]!))),
          `${ordered[i]} vs ${ordered[j]}`,
        ).toBe(Math.sign(i - j));
  });

  it('compares numbers as numbers, not text', () => {
    expect(compareVersions(v('1.9.0'), v('1.10.0'))).toBeLessThan(0);
    expect(compareVersions(v('10.0.0'), v('9.99.99'))).toBeGreaterThan(0);
  });
});

describe('tag names', () => {
  it('tags the version and its major', () => {
    expect(tagName(v('1.2.3'))).toBe('v1.2.3');
    expect(tagName(v('2.0.0-rc.1'))).toBe('v2.0.0-rc.1');
    expect(majorTagName(v('1.2.3'))).toBe('v1');
    expect(majorTagName(v('0.4.0'))).toBe('v0');
  });

  it('finds the highest version tag, ignoring the moving major tags and other tags', () => {
    expect(latestVersionTag([])).toBeUndefined();
    expect(latestVersionTag(['v1', 'v2', 'nightly', 'release-3'])).toBeUndefined();
    const latest = latestVersionTag(['v1', 'v1.9.0', 'v1.10.0', 'v1.10.1-rc.1', 'v1.2.0', 'v01.0.0']);
    expect(latest && tagName(latest)).toBe('v1.10.1-rc.1');
  });

  it('pushes main and the new tag, never the major tag (the release workflow moves it once checked)', () => {
    expect(pushCommands(v('1.2.3'))).toEqual([
      ['git', 'push', 'origin', 'main'],
      ['git', 'push', 'origin', 'refs/tags/v1.2.3'],
    ]);
    expect(pushCommands(v('2.0.0-rc.1'), 'upstream')).toEqual([
      ['git', 'push', 'upstream', 'main'],
      ['git', 'push', 'upstream', 'refs/tags/v2.0.0-rc.1'],
    ]);
  });
});

const CHANGELOG = `# Changelog

Intro.

## [Unreleased]

### Added

- Something new.

## [0.1.0] - 2026-11-24

### Added

- The first version.
`;

describe('releaseChangelog', () => {
  it('moves what is unreleased under the new version and leaves Unreleased empty', () => {
    expect(releaseChangelog(CHANGELOG, v('1.0.0'), '2026-12-01')).toBe(`# Changelog

Intro.

## [Unreleased]

## [1.0.0] - 2026-12-01

### Added

- Something new.

## [0.1.0] - 2026-11-24

### Added

- The first version.
`);
  });

  it('refuses a release with nothing in Unreleased', () => {
    const released = releaseChangelog(CHANGELOG, v('1.0.0'), '2026-12-01');
    expect(() => releaseChangelog(released, v('1.0.1'), '2026-12-02')).toThrow(/Unreleased section is empty/);
  });

  it('refuses a version that already has a section, and a changelog without Unreleased', () => {
    expect(() => releaseChangelog(CHANGELOG, v('0.1.0'), '2026-12-01')).toThrow(/already has a section/);
    expect(() => releaseChangelog('# Changelog\n', v('1.0.0'), '2026-12-01')).toThrow(
      /no "## \[Unreleased\]"/,
    );
  });

  it("finds the Unreleased section in the project's CHANGELOG.md", () => {
    const text = readFileSync(path.join(root, 'CHANGELOG.md'), 'utf8');
    expect(text).toMatch(/^## \[Unreleased\]$/m);
  });
});

describe('releaseNotes', () => {
  const released = releaseChangelog(CHANGELOG, v('0.2.0'), '2026-12-01');

  it("are the version's CHANGELOG section, without its heading", () => {
    expect(releaseNotes(v('0.2.0'), '0.2.0', released)).toBe('### Added\n\n- Something new.\n');
    expect(releaseNotes(v('0.1.0'), '0.1.0', released)).toBe('### Added\n\n- The first version.\n');
  });

  it('are the Unreleased section for a pre-release', () => {
    expect(releaseNotes(v('0.2.0-rc.1'), '0.2.0-rc.1', CHANGELOG)).toBe('### Added\n\n- Something new.\n');
  });

  it('refuse a tag whose commit does not carry the version, or a version the CHANGELOG does not describe', () => {
    expect(() => releaseNotes(v('0.2.0'), '0.1.0', released)).toThrow(
      /v0\.2\.0 tags a commit whose package\.json says 0\.1\.0/,
    );
    expect(() => releaseNotes(v('0.3.0'), '0.3.0', released)).toThrow(
      /CHANGELOG\.md has no notes for 0\.3\.0/,
    );
  });

  it("find this project's own notes", () => {
    const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      version: string;
    };
    const changelog = readFileSync(path.join(root, 'CHANGELOG.md'), 'utf8');
    expect(releaseNotes(v(version), version, changelog)).toMatch(/^### Added\n/);
  });
});

describe('version files', () => {
  it("changes package.json's version and nothing else", () => {
    const text = readFileSync(path.join(root, 'package.json'), 'utf8');
    const changed = setPackageVersion(text, v('1.2.3'));
    expect((JSON.parse(changed) as { version: string }).version).toBe('1.2.3');
    expect(changed.replace('"version": "1.2.3"', '')).toBe(text.replace(/"version": "[^"]*"/, ''));
  });

  it("changes the lock's two project versions and nothing else", () => {
    const text = readFileSync(path.join(root, 'package-lock.json'), 'utf8');
    const lock = JSON.parse(setLockVersion(text, v('1.2.3'))) as {
      version: string;
      packages: Record<string, { version: string }>;
    };
    expect(lock.version).toBe('1.2.3');
    expect(lock.packages['']!.version).toBe('1.2.3');
    const before = JSON.parse(text) as typeof lock;
    expect({
      ...lock,
      version: before.version,
      packages: { ...lock.packages, '': before.packages[''] },
    }).toEqual(before);
  });
});

describe('releaseProblems', () => {
  const ready: RepositoryState = {
    branch: 'main',
    changes: [],
    tags: ['v1', 'v1.0.0', 'v1.1.0'],
    packageVersion: '1.1.0',
    changelog: CHANGELOG,
  };

  it('lets a release above the last tag go ahead from a clean main', () => {
    expect(releaseProblems(v('1.1.1'), ready)).toEqual([]);
    expect(releaseProblems(v('2.0.0-rc.1'), ready)).toEqual([]);
  });

  it('needs release notes under Unreleased for a release, not for a pre-release', () => {
    const noNotes = { ...ready, changelog: releaseChangelog(CHANGELOG, v('1.2.0'), '2026-12-01') };
    expect(releaseProblems(v('1.3.0'), noNotes)).toEqual([
      "CHANGELOG.md's Unreleased section is empty: say what this release changes",
    ]);
    expect(releaseProblems(v('1.3.0-rc.1'), noNotes)).toEqual([]);
  });

  it('says everything that stops a release at once', () => {
    const problems = releaseProblems(v('1.1.0'), {
      ...ready,
      branch: 'feature',
      changes: [' M src/main.ts', '?? notes.txt'],
      changelog: '# Changelog\n',
    });
    expect(problems).toEqual([
      'releases are made from main, and this is feature',
      'the working tree is not clean (commit or remove first):\n   M src/main.ts\n  ?? notes.txt',
      '1.1.0 is not above the last tag, v1.1.0',
      "1.1.0 is not above package.json's version, 1.1.0",
      'CHANGELOG.md has no "## [Unreleased]" section',
    ]);
  });

  it('compares with package.json when there is no tag yet', () => {
    const untagged = { ...ready, tags: [], packageVersion: '0.1.0' };
    expect(releaseProblems(v('0.1.0'), untagged)).toEqual([
      "0.1.0 is not above package.json's version, 0.1.0",
      'CHANGELOG.md already has a section for 0.1.0',
    ]);
    expect(releaseProblems(v('0.0.9'), { ...untagged, changelog: CHANGELOG })).toEqual([
      "0.0.9 is not above package.json's version, 0.1.0",
    ]);
    expect(releaseProblems(v('1.0.0'), untagged)).toEqual([]);
  });
});
