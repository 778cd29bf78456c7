// The third-party notices that travel with the bundle: dist/licenses.txt, written by the build
// (scripts/build.ts) from webpack's own list of the modules in dist/index.js and its lazily loaded
// chunks. ncc's `--license` is not used: its list leaves out packages of the main chunk (@actions/core,
// undici, …) and has no text for packages that ship no licence file.
//
// Per package: version, licence, source, the chunk files that hold it, every licence file and every
// NOTICE file as the package ships them. A licence outside ALLOWED, or one that cannot be found,
// fails the build: review it, then add it to ALLOWED or OVERRIDES.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Licences reviewed for a bundled GitHub Action (SPDX ids). */
export const ALLOWED = new Set([
  '0BSD',
  'Apache-2.0',
  'BlueOak-1.0.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  'CC0-1.0',
  'ISC',
  'MIT',
  // Weak copyleft, file level: the bundle may carry it unchanged; the notice says where its source is.
  'MPL-2.0',
]);

/** Old spellings of SPDX ids found in package.json files. */
const ALIASES: Record<string, string> = { 'MIT/X11': 'MIT', X11: 'MIT', BSD: 'BSD-3-Clause' };

/**
 * Packages whose published files state no licence. Each entry names where the licence is stated
 * instead; the text is the one given there.
 */
const OVERRIDES: Record<string, { license: string; source: string; text: string }> = {
  // Pulled in by @actions/artifact (unzip-stream → binary → buffers). 0.1.1 ships no licence; the
  // author added this MIT licence to the repository later (LICENSE, and "license": "MIT/X11" in 0.1.2).
  'buffers@0.1.1': {
    license: 'MIT',
    source: 'https://github.com/substack/node-buffers/blob/master/LICENSE',
    text: `(The MIT License)

Copyright (c) 2010 James Halliday (mail@substack.net)

Permission is hereby granted, free of charge, to any person obtaining
a copy of this software and associated documentation files (the
"Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so, subject to
the following conditions:

The above copyright notice and this permission notice shall be
included in all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE
LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION
OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`,
  },
};

/** For a package that states MIT but ships no licence file: the licence's own words. */
const MIT_PERMISSION = `Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.`;

const LICENSE_FILE = /^(licen[cs]e|copying)([-_.].*)?$/i;
const NOTICE_FILE = /^(notice|third[-_]?party[-_]?notices?)(\..*)?$/i;

/** The parts of webpack's stats (ncc --stats-out) read here. */
export interface BundleStats {
  chunks: { id: number | string; files: string[] }[];
  modules: StatsModule[];
}
interface StatsModule {
  nameForCondition?: string;
  chunks: (number | string)[];
  /** The modules a concatenated (ES module) module holds; their own `chunks` are empty. */
  modules?: StatsModule[];
}

/** A package whose code is in the bundle: its root folder and the output files that hold it. */
export interface BundledPackage {
  dir: string;
  files: string[];
}

/** Every package with a module in an emitted chunk, by root folder (node_modules/<name>, nested ones too). */
export function bundledPackages(stats: BundleStats): BundledPackage[] {
  const filesOf = new Map(stats.chunks.map((chunk) => [String(chunk.id), chunk.files]));
  const found = new Map<string, Set<string>>();
  const visit = (module: StatsModule, chunks: (number | string)[]) => {
    const where = module.chunks.length > 0 ? module.chunks : chunks;
    for (const inner of module.modules ?? []) visit(inner, where);
    const dir = module.nameForCondition && packageRoot(module.nameForCondition);
    if (!dir || where.length === 0) return;
    const files = found.get(dir) ?? new Set();
    for (const chunk of where) for (const file of filesOf.get(String(chunk)) ?? []) files.add(file);
    found.set(dir, files);
  };
  for (const module of stats.modules) visit(module, []);
  return [...found]
    .map(([dir, files]) => ({ dir, files: [...files].sort(byFile) }))
    .sort((a, b) => a.dir.localeCompare(b.dir));
}

/** node_modules/<name> or node_modules/@scope/<name>, the innermost one, for a file inside a package. */
function packageRoot(file: string): string | undefined {
  const match = [...file.matchAll(/[/\\]node_modules[/\\](@[^/\\]+[/\\])?[^/\\]+/g)].at(-1);
  return match ? file.slice(0, match.index + match[0].length) : undefined;
}

/** index.js first, then the chunks in numeric order. */
function byFile(a: string, b: string): number {
  return a === b
    ? 0
    : a === 'index.js'
      ? -1
      : b === 'index.js'
        ? 1
        : a.localeCompare(b, 'en', { numeric: true });
}

export interface Notice {
  name: string;
  version: string;
  license: string;
  source: string;
  files: string[];
  /** Licence and NOTICE texts, each with the file (or place) it comes from. */
  texts: { from: string; text: string }[];
}

interface PackageJson {
  name?: string;
  version?: string;
  license?: string | { type?: string };
  licenses?: { type?: string }[];
  repository?: string | { url?: string };
  homepage?: string;
  author?: string | { name?: string };
}

/** What the package states about itself; throws when its licence is unknown or not reviewed. */
export function noticeOf(bundled: BundledPackage): Notice {
  const json = JSON.parse(readFileSync(path.join(bundled.dir, 'package.json'), 'utf8')) as PackageJson;
  const name = json.name ?? path.basename(bundled.dir);
  const version = json.version ?? '';
  const id = `${name}@${version}`;
  const override = OVERRIDES[id];
  const entries = readdirSync(bundled.dir).sort();
  const read = (file: string) => readFileSync(path.join(bundled.dir, file), 'utf8').trim();
  const licenseFiles = entries
    .filter((file) => LICENSE_FILE.test(file))
    .map((file) => ({ from: file, text: read(file) }));
  const noticeFiles = entries
    .filter((file) => NOTICE_FILE.test(file))
    .map((file) => ({ from: file, text: read(file) }));
  const stated = override?.license ?? declaredLicense(json);
  if (!stated)
    throw new Error(
      `${id} is in the bundle, but states no licence (no "license" in package.json). Find the licence its ` +
        `repository states and add it to OVERRIDES in scripts/licenses.ts.`,
    );
  const unreviewed = spdxIds(stated).filter((spdx) => !ALLOWED.has(spdx));
  if (unreviewed.length > 0)
    throw new Error(
      `${id} is in the bundle under ${stated}; ${unreviewed.join(', ')} is not among the reviewed licences ` +
        `(ALLOWED in scripts/licenses.ts). Review what it requires of a bundled action before adding it.`,
    );
  const texts = override
    ? [{ from: override.source, text: override.text }]
    : licenseFiles.length > 0
      ? licenseFiles
      : [standardText(id, stated, json)];
  return {
    name,
    version,
    license: stated,
    source: sourceOf(json, name, version),
    files: bundled.files,
    texts: [...texts, ...noticeFiles],
  };
}

function declaredLicense(json: PackageJson): string | undefined {
  const value = typeof json.license === 'string' ? json.license : json.license?.type;
  const legacy = json.licenses?.map((l) => l.type).filter(Boolean);
  const raw = value ?? (legacy && legacy.length > 0 ? legacy.join(' OR ') : undefined);
  return raw === undefined ? undefined : (ALIASES[raw] ?? raw);
}

/** The ids in an SPDX expression such as `(Apache-2.0 AND BSD-3-Clause)`. */
function spdxIds(expression: string): string[] {
  return expression
    .replace(/[()]/g, ' ')
    .split(/\s+(?:AND|OR|WITH)\s+|\s+/)
    .filter(Boolean)
    .map((id) => ALIASES[id] ?? id);
}

/** A package that states its licence but ships no file for it: the licence's words, with its author. */
function standardText(id: string, license: string, json: PackageJson): { from: string; text: string } {
  if (license !== 'MIT')
    throw new Error(
      `${id} states ${license} but ships no licence file; add its text to OVERRIDES in scripts/licenses.ts.`,
    );
  const author = typeof json.author === 'string' ? json.author : json.author?.name;
  return {
    from: 'package.json ("license": "MIT"; the package ships no licence file, so the MIT licence text follows)',
    text: `${author ? `Author, as package.json names it: ${author}\n\n` : ''}${MIT_PERMISSION}`,
  };
}

function sourceOf(json: PackageJson, name: string, version: string): string {
  const repository = typeof json.repository === 'string' ? json.repository : json.repository?.url;
  const url = repository
    ?.replace(/^git\+/, '')
    .replace(/^(git|http):\/\//, 'https://')
    .replace(/^github:/, 'https://github.com/')
    .replace(/^([\w.-]+\/[\w.-]+)$/, 'https://github.com/$1')
    .replace(/\.git$/, '');
  const registry = `https://www.npmjs.com/package/${name}/v/${version}`;
  return url ? `${url} (${registry})` : registry;
}

const RULE = '-'.repeat(78);

/** dist/licenses.txt. */
export function renderNotices(notices: Notice[]): string {
  const mpl = notices.filter((n) => spdxIds(n.license).includes('MPL-2.0'));
  const head = [
    'Third-party software in this action',
    '',
    'dist/index.js and the chunks it loads when a step needs them (dist/*.index.js) hold code of the',
    `${notices.length} packages below, unmodified except for bundling by @vercel/ncc. Each entry gives its`,
    'version, licence, source, the files of dist/ that hold it, and every licence and NOTICE file it ships.',
    mpl.length > 0
      ? `MPL-2.0 code (${mpl.map((n) => n.name).join(', ')}) is available in source form at the address its entry gives.`
      : 'No package in the bundle is under MPL-2.0 or another licence that asks for its source to be offered.',
    '',
    'Written by `npm run build` (scripts/licenses.ts) from the bundler’s list of modules; do not edit.',
    '',
    ...notices.map((n) => `  ${`${n.name} ${n.version}`.padEnd(48)} ${n.license}`),
  ];
  const entries = notices.map((n) =>
    [
      RULE,
      `${n.name} ${n.version}`,
      `License: ${n.license}`,
      `Source: ${n.source}`,
      `In: ${n.files.join(', ')}`,
      ...n.texts.flatMap((t) => ['', `--- ${t.from}`, '', t.text]),
    ].join('\n'),
  );
  return `${[head.join('\n'), ...entries].join('\n\n')}\n`;
}

/** The notices for webpack's stats of a build, one per name and version, in name order. */
export function noticesFor(stats: BundleStats): Notice[] {
  const byId = new Map<string, Notice>();
  for (const notice of bundledPackages(stats).map(noticeOf)) {
    const id = `${notice.name}@${notice.version}`;
    const same = byId.get(id);
    // The same version installed twice (nested node_modules): one entry, every file that holds it.
    if (same) same.files = [...new Set([...same.files, ...notice.files])].sort(byFile);
    else byId.set(id, notice);
  }
  return [...byId.values()].sort(
    (a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version, 'en', { numeric: true }),
  );
}
