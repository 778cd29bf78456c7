/**
 * The `videos` input: one source per line, or a JSON array of entries with their own prompts.
 * Every entry is checked here, before any request, and a problem names its line or index.
 */
import { Inputs } from '../constants.ts';
import { policy } from '../policy.ts';
import type { Source } from '../sources/source.ts';

/**
 * A file on the runner as written: a path, or (in a line) a glob pattern that expands into one entry
 * per file; a pattern starting with `!` excludes files from every other pattern's expansion.
 */
export interface FileWanted {
  kind: 'file';
  pattern: string;
  /** From a JSON entry or `video_path`: one file, its name taken as written (no glob). */
  literal: boolean;
  /** `videos line 3`, `videos[1]`: where a problem with it is reported. */
  where: string;
}

/** What one entry of `videos` asks for; unset fields take the step's input of the same name. */
export interface VideoEntry {
  source: Extract<Source, { kind: 'video_url' | 'video_id' }> | FileWanted;
  /** The JSON entry's name, else the source as written. */
  name: string;
  soundEffectPrompt?: string;
  bgmPrompt?: string;
  asmrMode?: boolean;
}

/** Checks a video URL the way the single-video input is checked: the problem, or undefined. */
export type UrlCheck = (url: string) => string | undefined;

const { maxVideos, maxNameCharacters, maxPromptCharacters } = policy.inputs;
/** A JSON entry's fields: the step's inputs of the same names, and its own name. */
const FIELDS = [
  Inputs.VideoUrl,
  Inputs.VideoId,
  Inputs.VideoPath,
  Inputs.SoundEffectPrompt,
  Inputs.BgmPrompt,
  Inputs.AsmrMode,
  'name',
];

export function parseVideos(raw: string, checkUrl: UrlCheck, problems: string[]): VideoEntry[] {
  const text = raw.trim();
  const entries = text.startsWith('[')
    ? fromJson(text, checkUrl, problems)
    : fromLines(raw, checkUrl, problems);
  if (entries.length === 0 && problems.length === 0)
    problems.push(
      `${Inputs.Videos} lists no video: give one URL, Kling video id or path (a glob pattern too) per line.`,
    );
  if (entries.length > maxVideos)
    problems.push(
      `${Inputs.Videos} lists ${entries.length} videos; one step takes at most ${maxVideos}. Split the list across matrix legs.`,
    );
  return entries;
}

/**
 * One source per line: digits only is a Kling video id, `scheme://…` a URL (http or https), anything
 * else a path or glob pattern relative to the workspace. `#` starts a comment at the start of a line
 * or after white space; within a URL it is its fragment.
 */
function fromLines(raw: string, checkUrl: UrlCheck, problems: string[]): VideoEntry[] {
  const entries: VideoEntry[] = [];
  for (const [n, line] of raw.split(/\r?\n/).entries()) {
    const value = line.replace(/(^|\s)#.*$/, '').trim();
    if (value === '') continue;
    const where = `${Inputs.Videos} line ${n + 1}`;
    const source = sourceOf(value, where, checkUrl, problems);
    if (source) entries.push({ source, name: value });
  }
  return entries;
}

function sourceOf(
  value: string,
  where: string,
  checkUrl: UrlCheck,
  problems: string[],
): VideoEntry['source'] | undefined {
  if (/^\d+$/.test(value)) return { kind: 'video_id', videoId: value };
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return { kind: 'file', pattern: value, literal: false, where };
  const problem = checkUrl(value);
  if (problem) {
    problems.push(
      `${where}: ${problem} (a line is a video URL, a Kling video id of digits only, or a path).`,
    );
    return undefined;
  }
  return { kind: 'video_url', videoUrl: value };
}

/** A JSON entry's video_url: a URL whatever it looks like. */
function urlSource(value: string, where: string, checkUrl: UrlCheck, problems: string[]) {
  const problem = checkUrl(value);
  if (problem) {
    problems.push(`${where}.${Inputs.VideoUrl} ${problem}`);
    return undefined;
  }
  return { kind: 'video_url', videoUrl: value } as const;
}

function fromJson(text: string, checkUrl: UrlCheck, problems: string[]): VideoEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    problems.push(`${Inputs.Videos} starts with [ but is not valid JSON: ${(error as Error).message}.`);
    return [];
  }
  if (!Array.isArray(parsed)) {
    problems.push(`${Inputs.Videos} must be a JSON array of objects.`);
    return [];
  }
  return parsed.flatMap((item, index) => {
    const entry = fromObject(item, `${Inputs.Videos}[${index}]`, checkUrl, problems);
    return entry ? [entry] : [];
  });
}

function fromObject(
  item: unknown,
  where: string,
  checkUrl: UrlCheck,
  problems: string[],
): VideoEntry | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    problems.push(`${where} must be an object such as {"${Inputs.VideoUrl}": "https://…/clip.mp4"}.`);
    return undefined;
  }
  const fields = item as Record<string, unknown>;
  const before = problems.length;
  const unknown = Object.keys(fields).filter((key) => !FIELDS.includes(key));
  if (unknown.length > 0)
    problems.push(
      `${where} has unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known: ${FIELDS.join(', ')}.`,
    );
  const url = text(fields, Inputs.VideoUrl, where, problems);
  const id = text(fields, Inputs.VideoId, where, problems);
  const file = text(fields, Inputs.VideoPath, where, problems);
  const given = [url, id, file].filter((value) => value !== undefined).length;
  if (given !== 1)
    problems.push(
      `${where} needs exactly one of ${Inputs.VideoUrl}, ${Inputs.VideoId} and ${Inputs.VideoPath}.`,
    );
  else if (id !== undefined && /\s/.test(id))
    problems.push(`${where}.${Inputs.VideoId} must not contain spaces.`);
  const source: VideoEntry['source'] | undefined =
    url !== undefined
      ? urlSource(url, where, checkUrl, problems)
      : id !== undefined
        ? { kind: 'video_id', videoId: id }
        : file !== undefined
          ? { kind: 'file', pattern: file, literal: true, where: `${where}.${Inputs.VideoPath}` }
          : undefined;
  const soundEffectPrompt = prompt(fields, Inputs.SoundEffectPrompt, where, problems);
  const bgmPrompt = prompt(fields, Inputs.BgmPrompt, where, problems);
  const asmrMode = flag(fields, Inputs.AsmrMode, where, problems);
  const name = text(fields, 'name', where, problems);
  if (name !== undefined && ([...name].length > maxNameCharacters || /\p{Cc}/u.test(name)))
    problems.push(`${where}.name must be one line of at most ${maxNameCharacters} characters.`);
  if (problems.length > before || !source) return undefined;
  return {
    source,
    name: name ?? url ?? id ?? file!,
    ...(soundEffectPrompt !== undefined ? { soundEffectPrompt } : {}),
    ...(bgmPrompt !== undefined ? { bgmPrompt } : {}),
    ...(asmrMode !== undefined ? { asmrMode } : {}),
  };
}

function text(
  fields: Record<string, unknown>,
  key: string,
  where: string,
  problems: string[],
): string | undefined {
  const value = fields[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    problems.push(`${where}.${key} must be a non-empty string.`);
    return undefined;
  }
  return value.trim();
}

function prompt(
  fields: Record<string, unknown>,
  key: string,
  where: string,
  problems: string[],
): string | undefined {
  const value = text(fields, key, where, problems);
  if (value !== undefined && [...value].length > maxPromptCharacters)
    problems.push(
      `${where}.${key} is ${[...value].length} characters long; Kling accepts at most ${maxPromptCharacters}.`,
    );
  return value;
}

function flag(
  fields: Record<string, unknown>,
  key: string,
  where: string,
  problems: string[],
): boolean | undefined {
  const value = fields[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  problems.push(`${where}.${key} must be true or false.`);
  return undefined;
}
