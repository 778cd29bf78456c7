// Releases the action: `npm run release -- X.Y.Z [--push] [--dry-run]`.
//
// 1. Checks: the branch is main, the working tree is clean, X.Y.Z is a semantic version above
//    package.json's and above the highest vX.Y.Z tag, CHANGELOG.md's Unreleased section says what
//    changed, and dist/ is the build of src/ (scripts/check-dist.ts).
// 2. Sets the version in package.json and package-lock.json, turns the Unreleased section of
//    CHANGELOG.md into `## [X.Y.Z] - <today>`, and rebuilds dist/ (the bundle carries the version in
//    its User-Agent); then commits them ("Release vX.Y.Z").
// 3. Tags vX.Y.Z (annotated). A pre-release (X.Y.Z-rc.1) leaves CHANGELOG.md as it is.
// 4. Prints the git push commands, and runs them only with --push. --dry-run checks and says what it
//    would do, changing nothing.
//
// Pushing the tag starts .github/workflows/release.yml: it checks dist/ and runs the tests on the
// tagged commit, creates the GitHub release with the notes printed by `--notes X.Y.Z` (the version's
// CHANGELOG section), and only then moves the major tag (v1) that workflows pin.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

export interface Version {
  major: number;
  minor: number;
  patch: number;
  /** Dot-separated pre-release identifiers (`rc.1` → ['rc', '1']); empty for a release. */
  prerelease: string[];
}

// semver.org's grammar, without build metadata (`+...`), which a tag name would carry badly and which
// semantic versioning ignores for precedence anyway.
const IDENTIFIER = String.raw`(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)`;
const SEMVER = new RegExp(
  String.raw`^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-(${IDENTIFIER}(?:\.${IDENTIFIER})*))?$`,
);

/** Parses `1.2.3`, `v1.2.3` or `1.2.3-rc.1`; throws on anything else. */
export function parseVersion(text: string): Version {
  const match = SEMVER.exec(text.trim());
  const numbers = match?.slice(1, 4).map(Number);
  if (!match || !numbers?.every(Number.isSafeInteger))
    throw new Error(
      `${JSON.stringify(text)} is not a semantic version: give MAJOR.MINOR.PATCH, such as 1.2.3 or 1.2.3-rc.1`,
    );
  const [major, minor, patch] = numbers as [number, number, number];
  return { major, minor, patch, prerelease: match[4] === undefined ? [] : match[4].split('.') };
}

export function formatVersion(version: Version): string {
  const core = `${version.major}.${version.minor}.${version.patch}`;
  return version.prerelease.length > 0 ? `${core}-${version.prerelease.join('.')}` : core;
}

/** Semantic-versioning precedence: negative when a comes first, 0 when equal, positive when a is later. */
export function compareVersions(a: Version, b: Version): number {
  for (const key of ['major', 'minor', 'patch'] as const) if (a[key] !== b[key]) return a[key] - b[key];
  // A pre-release comes before its release.
  if (a.prerelease.length === 0 || b.prerelease.length === 0)
    return b.prerelease.length - a.prerelease.length;
  for (let i = 0; i < Math.min(a.prerelease.length, b.prerelease.length); i++) {
    const x = a.prerelease[i]!;
    const y = b.prerelease[i]!;
    if (x === y) continue;
    const xNumeric = /^\d+$/.test(x);
    const yNumeric = /^\d+$/.test(y);
    // Numeric identifiers compare as numbers and come before alphanumeric ones, which compare in ASCII order.
    if (xNumeric && yNumeric) return Number(x) - Number(y);
    if (xNumeric !== yNumeric) return xNumeric ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return a.prerelease.length - b.prerelease.length;
}

export const tagName = (version: Version): string => `v${formatVersion(version)}`;
export const majorTagName = (version: Version): string => `v${version.major}`;
export const isPrerelease = (version: Version): boolean => version.prerelease.length > 0;

/** The highest release tag (vX.Y.Z, pre-releases included) among tag names; moving tags such as v1 are not versions. */
export function latestVersionTag(tags: readonly string[]): Version | undefined {
  let latest: Version | undefined;
  for (const tag of tags) {
    if (!/^v\d+\.\d+\.\d+(-|$)/.test(tag)) continue;
    let version: Version;
    try {
      version = parseVersion(tag);
    } catch {
      continue;
    }
    if (latest === undefined || compareVersions(version, latest) > 0) latest = version;
  }
  return latest;
}

export interface RepositoryState {
  branch: string;
  /** `git status --porcelain` lines: changed, staged or untracked files. */
  changes: string[];
  tags: readonly string[];
  packageVersion: string;
  changelog: string;
}

/** Everything that stops a release of `version` from this state, in words; empty when it may go ahead. */
export function releaseProblems(version: Version, state: RepositoryState): string[] {
  const problems: string[] = [];
  if (state.branch !== 'main') problems.push(`releases are made from main, and this is ${state.branch}`);
  if (state.changes.length > 0)
    problems.push(`the working tree is not clean (commit or remove first):\n  ${state.changes.join('\n  ')}`);
  const latest = latestVersionTag(state.tags);
  if (latest !== undefined && compareVersions(version, latest) <= 0)
    problems.push(`${formatVersion(version)} is not above the last tag, ${tagName(latest)}`);
  let packageVersion: Version | undefined;
  try {
    packageVersion = parseVersion(state.packageVersion);
  } catch {
    problems.push(`package.json's version ${JSON.stringify(state.packageVersion)} is not a semantic version`);
  }
  if (packageVersion !== undefined && compareVersions(version, packageVersion) <= 0)
    problems.push(`${formatVersion(version)} is not above package.json's version, ${state.packageVersion}`);
  // A pre-release leaves CHANGELOG.md alone: its changes stay under Unreleased until the release.
  if (!isPrerelease(version))
    try {
      releaseChangelog(state.changelog, version, '2000-01-01');
    } catch (error) {
      problems.push((error as Error).message);
    }
  return problems;
}

/** package.json with its top-level version replaced, the rest of the text as it was. */
export function setPackageVersion(text: string, version: Version): string {
  const pattern = /^(\s{2}"version":\s*")[^"]*(")/m;
  if (!pattern.test(text)) throw new Error('package.json has no top-level "version"');
  return text.replace(pattern, `$1${formatVersion(version)}$2`);
}

/** package-lock.json with the project's version (top level and packages[""]) replaced. */
export function setLockVersion(text: string, version: Version): string {
  const lock = JSON.parse(text) as { version?: string; packages?: Record<string, { version?: string }> };
  // npm writes the lock as JSON.stringify(lock, null, 2) plus a newline: rewriting it keeps every other byte.
  if (`${JSON.stringify(lock, null, 2)}\n` !== text)
    throw new Error('package-lock.json is not formatted as npm writes it; run npm install first');
  lock.version = formatVersion(version);
  const project = lock.packages?.[''];
  if (project) project.version = formatVersion(version);
  return `${JSON.stringify(lock, null, 2)}\n`;
}

const UNRELEASED = /^## \[Unreleased\][^\S\n]*$/m;

/**
 * CHANGELOG.md with what is under `## [Unreleased]` moved under a new `## [X.Y.Z] - date` heading,
 * leaving Unreleased empty for the next changes (Keep a Changelog). Throws when there is nothing to
 * release or the version already has a section.
 */
export function releaseChangelog(text: string, version: Version, date: string): string {
  const heading = UNRELEASED.exec(text);
  if (!heading) throw new Error('CHANGELOG.md has no "## [Unreleased]" section');
  const start = heading.index + heading[0].length;
  const next = text.slice(start).search(/^## /m);
  const body = next === -1 ? text.slice(start) : text.slice(start, start + next);
  if (body.trim() === '')
    throw new Error("CHANGELOG.md's Unreleased section is empty: say what this release changes");
  const escaped = formatVersion(version).replace(/[.]/g, '\\.');
  if (new RegExp(`^## \\[${escaped}\\]`, 'm').test(text))
    throw new Error(`CHANGELOG.md already has a section for ${formatVersion(version)}`);
  return `${text.slice(0, start)}\n\n## [${formatVersion(version)}] - ${date}${text.slice(start)}`;
}

/**
 * The git commands that publish a release made locally, each as its arguments. The major tag is not
 * among them: the release workflow moves it once the tagged commit has passed its checks.
 */
export function pushCommands(version: Version, remote = 'origin'): string[][] {
  return [
    ['git', 'push', remote, 'main'],
    ['git', 'push', remote, `refs/tags/${tagName(version)}`],
  ];
}

/**
 * The release notes of a tagged version: its CHANGELOG.md section (a pre-release, whose changes stay
 * under Unreleased, gets that section). Throws when the tagged commit does not carry the version in
 * package.json or the CHANGELOG has nothing for it, so a tag pushed by hand cannot be released bare.
 */
export function releaseNotes(version: Version, packageVersion: string, changelog: string): string {
  if (packageVersion !== formatVersion(version))
    throw new Error(
      `${tagName(version)} tags a commit whose package.json says ${packageVersion}: tag with npm run release -- ${formatVersion(version)}`,
    );
  const heading = isPrerelease(version)
    ? UNRELEASED
    : new RegExp(`^## \\[${formatVersion(version).replace(/[.]/g, '\\.')}\\][^\\n]*$`, 'm');
  const found = heading.exec(changelog);
  const start = found ? found.index + found[0].length : -1;
  const rest = start < 0 ? '' : changelog.slice(start);
  const next = rest.search(/^## /m);
  const notes = (next === -1 ? rest : rest.slice(0, next)).trim();
  if (notes === '')
    throw new Error(
      `CHANGELOG.md has no notes for ${formatVersion(version)}${isPrerelease(version) ? ' under Unreleased' : ''}`,
    );
  return `${notes}\n`;
}

const root = path.resolve(import.meta.dirname, '..');

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
}

/** npm, as the one running this script (`npm run release`) or from PATH. */
function npmCommand(...args: string[]): string[] {
  const cli = process.env.npm_execpath;
  return cli && /\.[cm]?js$/.test(cli) ? [process.execPath, cli, ...args] : ['npm', ...args];
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: {
      push: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      notes: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  if (positionals.length !== 1) {
    console.error(
      'Usage: npm run release -- X.Y.Z [--push] [--dry-run]\n       npm run release -- --notes X.Y.Z',
    );
    process.exit(2);
  }
  let version: Version;
  try {
    version = parseVersion(positionals[0]!);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  const dryRun = values['dry-run'];
  const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
  const packageJson = read('package.json');
  if (values.notes) {
    try {
      const packageVersion = (JSON.parse(packageJson) as { version: string }).version;
      process.stdout.write(releaseNotes(version, packageVersion, read('CHANGELOG.md')));
    } catch (error) {
      console.error((error as Error).message);
      process.exit(1);
    }
    return;
  }
  const state: RepositoryState = {
    branch: git('rev-parse', '--abbrev-ref', 'HEAD'),
    changes: git('status', '--porcelain').split('\n').filter(Boolean),
    tags: git('tag', '--list').split('\n').filter(Boolean),
    packageVersion: (JSON.parse(packageJson) as { version: string }).version,
    changelog: read('CHANGELOG.md'),
  };
  const problems = releaseProblems(version, state);
  if (problems.length > 0) {
    console.error(`Cannot release ${tagName(version)}:\n- ${problems.join('\n- ')}`);
    process.exit(1);
  }
  console.log('Checking that dist/ is the build of src/ ...');
  try {
    execFileSync(process.execPath, [path.join(root, 'scripts/check-dist.ts')], {
      cwd: root,
      stdio: 'inherit',
    });
  } catch {
    console.error(`Cannot release ${tagName(version)}: dist/ is stale.`);
    process.exit(1);
  }

  const tag = tagName(version);
  const date = new Date().toISOString().slice(0, 10);
  const files: Record<string, string> = {
    'package.json': setPackageVersion(packageJson, version),
    'package-lock.json': setLockVersion(read('package-lock.json'), version),
  };
  if (!isPrerelease(version)) files['CHANGELOG.md'] = releaseChangelog(state.changelog, version, date);
  const build = npmCommand('run', 'build');
  const steps: string[][] = [
    build,
    [process.execPath, path.join(root, 'scripts/check-dist.ts')],
    ['git', 'commit', '-m', `Release ${tag}`, '--', ...Object.keys(files), 'dist'],
    ['git', 'tag', '--annotate', tag, '--message', `${tag}`],
  ];
  const show = (command: string[]) =>
    command.map((arg) => (/^[\w./:=@-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');

  if (dryRun) {
    console.log(
      `\nDry run: ${tag} could be released. It would set ${Object.keys(files).join(', ')} and run:`,
    );
    for (const command of [...steps, ...pushCommands(version)]) console.log(`  ${show(command)}`);
    console.log('(npm run build rebuilds dist/ with the new version, which is then checked and committed.)');
    return;
  }
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(root, file), text);
  for (const [command, ...args] of steps) execFileSync(command!, args, { cwd: root, stdio: 'inherit' });
  const major = isPrerelease(version) ? undefined : majorTagName(version);
  console.log(`\nTagged ${tag} locally.`);
  if (values.push) {
    for (const [command, ...args] of pushCommands(version))
      execFileSync(command!, args, { cwd: root, stdio: 'inherit' });
    console.log(
      `Pushed. The release workflow now checks ${tag}, creates its GitHub release` +
        `${major ? ` and moves ${major} to it` : ' (a pre-release: the major tag stays where it was)'}.`,
    );
  } else {
    console.log('Nothing was pushed. To publish it:');
    for (const command of pushCommands(version)) console.log(`  ${show(command)}`);
  }
}

if (import.meta.main) main();
