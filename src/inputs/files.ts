/**
 * Videos on the runner, found before any request: each path is looked up, each pattern expanded (in
 * sorted order, each file one entry named after it), and each file hashed, since its bytes are what
 * tell it apart (the staged object's key, the cache, entries sharing a task). Anything that cannot
 * be used is an input error: a missing file, a directory, a pattern that matches nothing, or a path
 * outside the workspace and RUNNER_TEMP.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { Inputs } from '../constants.ts';
import { quoteExternal } from '../net/external-text.ts';
import { policy } from '../policy.ts';
import { Gate } from '../runtime.ts';
import { describeSource, type Entry, type LocalFile } from '../sources/source.ts';
import type { ActionInputs, FileRequest } from './read.ts';
import { InputError } from './reader.ts';

/** Where files may come from: the workspace, and RUNNER_TEMP (renders often go there). */
export interface FileRoots {
  workspace: string;
  runnerTemp?: string;
}

/** The inputs with every file request replaced by its files, in place; the inputs as they are without any. */
export async function findFiles(inputs: ActionInputs, roots: FileRoots): Promise<ActionInputs> {
  if (inputs.files.length === 0) return inputs;
  const excludes = inputs.files.filter((r) => r.file.pattern.startsWith('!')).map((r) => r.file.pattern);
  // Looked up side by side; each request's problems kept apart, so they are reported in input order.
  const perRequest = inputs.files.map((): string[] => []);
  const real = await realRoots(roots);
  const found = await Promise.all(
    inputs.files.map((request, i) =>
      request.file.pattern.startsWith('!')
        ? Promise.resolve([])
        : filesOf(request, excludes, { roots, real }, perRequest[i]!),
    ),
  );
  const problems = perRequest.flat();
  const entries: Entry[] = [...inputs.entries];
  // From the last, so each request's `at` still points where its files go.
  for (let i = inputs.files.length - 1; i >= 0; i--) {
    const request = inputs.files[i]!;
    const at = request.at - inputs.files.slice(0, i).length;
    entries.splice(at, 0, ...found[i]!.map((file) => entryOf(request, file)));
  }
  if (entries.length > policy.inputs.maxVideos)
    problems.push(
      `${Inputs.Videos} comes to ${entries.length} videos once its patterns are expanded; one step takes at most ${policy.inputs.maxVideos}. Split the list across matrix legs.`,
    );
  if (entries.length === 0 && problems.length === 0)
    problems.push(`${Inputs.Videos} finds no video: its patterns only exclude.`);
  if (problems.length > 0) throw new InputError(problems);
  const hashed = await hashAll(entries);
  return Object.freeze({ ...inputs, entries: Object.freeze(hashed), files: Object.freeze([]) });
}

function entryOf(request: FileRequest, file: Pick<LocalFile, 'path' | 'absolute'>): Entry {
  const source: LocalFile = { kind: 'video_path', ...file, sha256: '', bytes: 0 };
  return { ...request.options, source, name: request.name ?? file.path };
}

/** The files one request names: one for a path, each match (sorted) for a pattern. */
async function filesOf(
  request: FileRequest,
  excludes: readonly string[],
  { roots, real }: { roots: FileRoots; real: FileRoots },
  problems: string[],
): Promise<Pick<LocalFile, 'path' | 'absolute'>[]> {
  const { pattern, literal, where } = request.file;
  const shown = quoteExternal(pattern, 200);
  const absolute = path.resolve(roots.workspace, pattern);
  if (!inside(absolute, roots)) {
    problems.push(
      `${where}: ${shown} is outside the workspace; give a path inside it (or inside RUNNER_TEMP).`,
    );
    return [];
  }
  if (literal || !/[*?[]/.test(pattern)) {
    const problem = await fileProblem(absolute, real);
    if (problem) {
      problems.push(`${where}: ${shown} ${problem}`);
      return [];
    }
    return [{ path: pattern, absolute }];
  }
  const { create } = await import('@actions/glob');
  const globber = await create(
    [absolute, ...excludes.map((e) => `!${path.resolve(roots.workspace, e.slice(1))}`)].join('\n'),
    {
      matchDirectories: false,
      implicitDescendants: false,
    },
  );
  const matches = (await globber.glob()).sort();
  const files: Pick<LocalFile, 'path' | 'absolute'>[] = [];
  for (const match of matches) {
    const problem = await fileProblem(match, real);
    if (problem)
      problems.push(
        `${where}: ${quoteExternal(relative(match, roots), 200)} (matched by ${shown}) ${problem}`,
      );
    else files.push({ path: relative(match, roots), absolute: match });
  }
  if (matches.length === 0)
    problems.push(
      `${where}: the pattern ${shown} matches no file in the workspace; check the path, or render the videos before this step.`,
    );
  return files;
}

/** Why a path cannot be a video to stage, or undefined; `roots` as real paths, as realpath gives the file's. */
async function fileProblem(absolute: string, roots: FileRoots): Promise<string | undefined> {
  let real: string;
  try {
    real = await realpath(absolute);
  } catch {
    return 'does not exist; check the path (relative to the workspace), or render the video before this step.';
  }
  // A link pointing out of the workspace would stage whatever it points at.
  if (!inside(real, roots)) return 'links outside the workspace; give the file itself.';
  const info = await stat(real);
  if (info.isDirectory())
    return `is a directory; give a file, or a pattern such as ${Inputs.Videos}: dir/*.mp4.`;
  if (!info.isFile()) return 'is not a regular file.';
  return undefined;
}

function inside(absolute: string, roots: FileRoots): boolean {
  return [roots.workspace, roots.runnerTemp].some((root) => {
    if (!root) return false;
    const rel = path.relative(root, absolute);
    // `..intro.mp4` is a name inside; only a `..` segment leads out.
    return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
  });
}

/** The roots with their links resolved (a workspace on a linked disk), so a file's real path compares. */
async function realRoots(roots: FileRoots): Promise<FileRoots> {
  const real = (root: string) => realpath(root).catch(() => root);
  const workspace = await real(roots.workspace);
  return roots.runnerTemp ? { workspace, runnerTemp: await real(roots.runnerTemp) } : { workspace };
}

/** As a reader of the workflow names it: relative to the workspace when it lies there. */
function relative(absolute: string, roots: FileRoots): string {
  const rel = path.relative(roots.workspace, absolute);
  return rel && inside(absolute, { workspace: roots.workspace }) ? rel.split(path.sep).join('/') : absolute;
}

/** Every file's sha256 and size, read a few at a time (the same file once). */
async function hashAll(entries: readonly Entry[]): Promise<Entry[]> {
  const places = new Gate(policy.staging.hashConcurrency);
  const digests = new Map<string, Promise<{ sha256: string; bytes: number }>>();
  const digestOf = (file: string) => {
    let digest = digests.get(file);
    if (!digest) {
      digest = places.acquire().then(async (release) => {
        try {
          return await sha256(file);
        } finally {
          release();
        }
      });
      digests.set(file, digest);
    }
    return digest;
  };
  return Promise.all(
    entries.map(async (entry) => {
      const { file } = describeSource(entry.source);
      if (!file) return entry;
      const source = Object.freeze({ ...file, ...(await digestOf(file.absolute)) });
      return Object.freeze({ ...entry, source });
    }),
  );
}

async function sha256(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
