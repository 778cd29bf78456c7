/**
 * Every input is read and validated here, into one frozen object. Nothing else calls core.getInput.
 * All problems are collected, so a user fixes them in one round.
 */
import path from 'node:path';
import { DEFAULT_BASE_URLS, Inputs, PROMPT_MAX_CHARACTERS } from './constants.ts';
import { parseVideos } from './videos.ts';
import type { ProviderName } from './kling/routes.ts';
import type { AudioFormat } from './task/files.ts';
import type { TaskSource } from './task/task.ts';

export type { AudioFormat };

export type Source = TaskSource;

export type Credentials =
  { kind: 'api_key'; apiKey: string } | { kind: 'access_key'; accessKey: string; secretKey: string };

/** One task the step runs: its source and the request options that may differ per entry. */
export interface Entry {
  source: Source;
  /** How results and the summary name it: the JSON entry's name, else the source as written. */
  name: string;
  soundEffectPrompt?: string;
  bgmPrompt?: string;
  asmrMode: boolean;
}

export interface ActionInputs {
  /** In input order; one unless `videos` was given. */
  entries: readonly Entry[];
  /** Check each video_url source before any create (reachable, MP4/MOV, size, duration). */
  preflight: boolean;
  /** Reuse an earlier run's result for the same source and request from the Actions cache. */
  cache: boolean;
  /** `videos` was given: outputs list every entry, and each entry has its own external id. */
  batch: boolean;
  maxConcurrency: number;
  provider: ProviderName;
  credentials: Credentials;
  baseUrl: string;
  soundEffectPrompt?: string;
  bgmPrompt?: string;
  asmrMode: boolean;
  callbackUrl?: string;
  /** Given by the user; when absent the action derives one. */
  externalTaskId?: string;
  wait: boolean;
  timeoutSeconds: number;
  pollIntervalSeconds: number;
  audioFormat: AudioFormat;
  includeVideo: boolean;
  /** Absolute. */
  outputDir: string;
  uploadArtifact: boolean;
  artifactName?: string;
  retentionDays?: number;
  /** false: each file its own unzipped artifact, so it plays in the browser. */
  archive: boolean;
  /** Replace an artifact of the same name in this run, as upload-artifact's overwrite. */
  overwrite: boolean;
  /** For the PR comment and release assets; may be empty when neither is asked for. */
  githubToken: string;
  prComment: boolean;
  releaseTag?: string;
}

export class InputError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(
      problems.length === 1
        ? `Invalid input: ${problems[0]}`
        : `Invalid inputs:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'InputError';
    this.problems = problems;
  }
}

export type GetInput = (name: string) => string;

/** What fetch can send in a header: Latin-1 without control characters (no zero-width spaces either). */
const HEADER_SAFE = /^[\x20-\x7e\xa0-\xff]+$/;
const TRUE = ['true', 'True', 'TRUE'];
const FALSE = ['false', 'False', 'FALSE'];
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const ARTIFACT_NAME_FORBIDDEN = /["<>|*?\r\n\\/:]/;
const MAX_TIMEOUT_SECONDS = 6 * 60 * 60;
/** Kling plans allow a handful of tasks at once; more in flight would only meet 1303. */
const MAX_CONCURRENCY = 50;
const MAX_POLL_INTERVAL_SECONDS = 300;
/** GitHub's longest retention (private repositories); public ones stop at 90. */
const MAX_RETENTION_DAYS = 400;

/** Files Kling cannot take as video_url (it accepts .mp4 and .mov): images, audio, other containers. */
const NOT_MP4_OR_MOV =
  /\.(png|jpe?g|gif|webp|bmp|tiff?|svg|heic|avif|mp3|wav|m4a|aac|ogg|oga|flac|opus|webm|mkv|avi|flv|wmv|mpe?g|3gp|m3u8|mpd|html?)$/i;
const VIDEO_PAGE_HOSTS = /^(www\.|m\.)?(youtube\.com|youtu\.be)$/i;

/**
 * Why a video_url cannot be what Kling downloads, or undefined when it may be. Only sure cases: a
 * URL without a telling extension (a signed link, a download endpoint) is left to the API.
 */
function notAnMp4OrMov(url: URL): string | undefined {
  if (VIDEO_PAGE_HOSTS.test(url.hostname))
    return `points to a video page (${url.hostname}), not a file. Kling downloads the file itself: give a direct link to an .mp4 or .mov.`;
  const extension = NOT_MP4_OR_MOV.exec(url.pathname)?.[0];
  if (extension)
    return `points to a ${extension.toLowerCase()} file; Kling accepts only .mp4 and .mov videos (3–20 s, up to 100 MB). Convert it first, e.g. ffmpeg -i input${extension.toLowerCase()} output.mp4.`;
  return undefined;
}

/** Why `raw` cannot be an http(s) URL the API may fetch, or undefined; `schemeHint` follows a wrong scheme. */
function httpUrlProblem(raw: string, schemeHint = ''): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `must be an absolute http(s) URL, got "${raw}".`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return `must use http or https, got "${url.protocol}"${schemeHint}.`;
  if (url.username || url.password) return 'must not carry a user name or password.';
  return undefined;
}

/** A video URL's problem, in words that follow its name: not a URL, or not an MP4/MOV file. */
function videoUrlProblem(raw: string): string | undefined {
  // Kling fetches the video itself: a file:// path is on the runner, where it cannot reach.
  return httpUrlProblem(raw, ' (upload local files somewhere first)') ?? notAnMp4OrMov(new URL(raw));
}

/** Reads one input at a time, collecting every problem so the user fixes them in one round. */
class InputReader {
  readonly problems: string[] = [];
  readonly #getInput: GetInput;

  constructor(getInput: GetInput) {
    this.#getInput = getInput;
  }

  get(name: string): string {
    return this.#getInput(name).trim();
  }

  /** Records a problem; returns undefined so a reader can `return reader.problem(...)`. */
  problem(text: string): undefined {
    this.problems.push(text);
    return undefined;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.get(name);
    if (raw === '') return fallback;
    if (TRUE.includes(raw)) return true;
    if (FALSE.includes(raw)) return false;
    this.problem(`${name} must be true or false, got "${raw}".`);
    return fallback;
  }

  number(name: string, fallback: number, min: number, max: number, integer = false): number {
    const raw = this.get(name);
    if (raw === '') return fallback;
    const value = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
      this.problem(
        `${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got "${raw}".`,
      );
      return fallback;
    }
    return value;
  }

  httpUrl(name: string, raw: string): string | undefined {
    const problem = httpUrlProblem(raw);
    return problem ? this.problem(`${name} ${problem}`) : raw;
  }

  prompt(name: string): string | undefined {
    const raw = this.get(name);
    if (raw === '') return undefined;
    const characters = [...raw].length;
    if (characters > PROMPT_MAX_CHARACTERS)
      return this.problem(
        `${name} is ${characters} characters long; Kling accepts at most ${PROMPT_MAX_CHARACTERS}. Shorten it.`,
      );
    return raw;
  }

  /** A choice among `options`, case-insensitive. */
  oneOf<T extends string>(name: string, options: readonly T[], fallback: T): T {
    const raw = this.get(name).toLowerCase() || fallback;
    if ((options as readonly string[]).includes(raw)) return raw as T;
    this.problem(`${name} must be ${options.slice(0, -1).join(', ')} or ${options.at(-1)}, got "${raw}".`);
    return fallback;
  }
}

export function readInputs(getInput: GetInput, workspace: string): ActionInputs {
  const reader = new InputReader(getInput);
  const soundEffectPrompt = reader.prompt(Inputs.SoundEffectPrompt);
  const bgmPrompt = reader.prompt(Inputs.BgmPrompt);
  const asmrMode = reader.bool(Inputs.AsmrMode, false);
  const entries = readEntries(reader, { soundEffectPrompt, bgmPrompt, asmrMode });
  const provider = reader.oneOf<ProviderName>(Inputs.Provider, ['cometapi', 'kling'], 'cometapi');
  const credentials = readCredentials(provider, reader);
  const baseUrl = readBaseUrl(reader.get(Inputs.BaseUrl) || DEFAULT_BASE_URLS[provider], reader);
  const callbackRaw = reader.get(Inputs.CallbackUrl);

  const inputs: ActionInputs = {
    entries,
    batch: reader.get(Inputs.Videos) !== '',
    preflight: reader.bool(Inputs.Preflight, true),
    cache: reader.bool(Inputs.Cache, false),
    maxConcurrency: reader.number(Inputs.MaxConcurrency, 2, 1, MAX_CONCURRENCY, true),
    provider,
    credentials: credentials ?? { kind: 'api_key', apiKey: '' },
    baseUrl: baseUrl ?? '',
    soundEffectPrompt,
    bgmPrompt,
    asmrMode,
    callbackUrl: callbackRaw ? reader.httpUrl(Inputs.CallbackUrl, callbackRaw) : undefined,
    externalTaskId: readExternalTaskId(reader),
    wait: reader.bool(Inputs.Wait, true),
    ...readTiming(reader),
    audioFormat: reader.oneOf<AudioFormat>(Inputs.AudioFormat, ['mp3', 'wav', 'both'], 'mp3'),
    includeVideo: reader.bool(Inputs.IncludeVideo, false),
    outputDir: path.resolve(workspace, reader.get(Inputs.OutputDir) || 'kling-audio'),
    ...readDeliveries(reader),
  };
  if (reader.problems.length > 0) throw new InputError(reader.problems);
  for (const entry of entries) Object.freeze(Object.freeze(entry).source);
  Object.freeze(inputs.entries);
  Object.freeze(inputs.credentials);
  return Object.freeze(inputs);
}

type StepDefaults = Pick<Entry, 'soundEffectPrompt' | 'bgmPrompt' | 'asmrMode'>;

/** `videos`, or exactly one of video_url, video_id, task_id: the entries, with the step's defaults applied. */
function readEntries(reader: InputReader, defaults: StepDefaults): Entry[] {
  const videos = reader.get(Inputs.Videos);
  if (videos) {
    const single = [Inputs.VideoUrl, Inputs.VideoId, Inputs.TaskId].filter((name) => reader.get(name));
    if (single.length > 0)
      reader.problem(
        `Give either ${Inputs.Videos} or ${single.join(' and ')}, not both: ${Inputs.Videos} lists every video of the step.`,
      );
    return parseVideos(videos, videoUrlProblem, reader.problems).map((entry) => ({
      ...defaults,
      ...entry,
      asmrMode: entry.asmrMode ?? defaults.asmrMode,
    }));
  }
  const source = readSource(reader);
  if (!source) return [];
  return [{ ...defaults, source, name: sourceText(source) }];
}

/** The source as the user wrote it: the URL, the video id or the task id. */
export function sourceText(source: Source): string {
  return source.kind === 'video_url'
    ? source.videoUrl
    : source.kind === 'video_id'
      ? source.videoId
      : source.taskId;
}

/** Exactly one of video_url, video_id, task_id. */
function readSource(reader: InputReader): Source | undefined {
  const videoUrl = reader.get(Inputs.VideoUrl);
  const videoId = reader.get(Inputs.VideoId);
  const taskId = reader.get(Inputs.TaskId);
  const given = [videoUrl && Inputs.VideoUrl, videoId && Inputs.VideoId, taskId && Inputs.TaskId].filter(
    Boolean,
  );
  if (given.length !== 1)
    return reader.problem(
      given.length === 0
        ? `Give one of ${Inputs.VideoUrl} (a video to add sound to), ${Inputs.VideoId} (a Kling video), ${Inputs.TaskId} (an existing task to resume) or ${Inputs.Videos} (several videos).`
        : `Give exactly one of ${Inputs.VideoUrl}, ${Inputs.VideoId}, ${Inputs.TaskId}; got ${given.join(' and ')}.`,
    );
  if (videoUrl) {
    const problem = videoUrlProblem(videoUrl);
    return problem ? reader.problem(`${Inputs.VideoUrl} ${problem}`) : { kind: 'video_url', videoUrl };
  }
  if (videoId) {
    if (/\s/.test(videoId))
      return reader.problem(`${Inputs.VideoId} must not contain spaces, got "${videoId}".`);
    return { kind: 'video_id', videoId };
  }
  if (!ID_PATTERN.test(taskId))
    return reader.problem(
      `${Inputs.TaskId} must be the task id the API returned (letters, digits, . _ : -), got "${taskId}".`,
    );
  return { kind: 'task_id', taskId };
}

function readExternalTaskId(reader: InputReader): string | undefined {
  const externalTaskId = reader.get(Inputs.ExternalTaskId) || undefined;
  if (externalTaskId && !ID_PATTERN.test(externalTaskId))
    reader.problem(
      `${Inputs.ExternalTaskId} may use letters, digits and . _ : - (at most 128), got "${externalTaskId}".`,
    );
  return externalTaskId;
}

function readTiming(reader: InputReader): { timeoutSeconds: number; pollIntervalSeconds: number } {
  const timeoutSeconds = reader.number(Inputs.TimeoutSeconds, 900, 1, MAX_TIMEOUT_SECONDS);
  const pollIntervalSeconds = reader.number(Inputs.PollIntervalSeconds, 5, 0.01, MAX_POLL_INTERVAL_SECONDS);
  if (pollIntervalSeconds > timeoutSeconds)
    reader.problem(
      `${Inputs.PollIntervalSeconds} (${pollIntervalSeconds}) must not exceed ${Inputs.TimeoutSeconds} (${timeoutSeconds}).`,
    );
  return { timeoutSeconds, pollIntervalSeconds };
}

type Deliveries = Pick<
  ActionInputs,
  | 'uploadArtifact'
  | 'artifactName'
  | 'retentionDays'
  | 'archive'
  | 'overwrite'
  | 'githubToken'
  | 'prComment'
  | 'releaseTag'
>;

/** Where the files go: the artifact, the pull request, the release. */
function readDeliveries(reader: InputReader): Deliveries {
  const artifactName = reader.get(Inputs.ArtifactName) || undefined;
  if (artifactName && (ARTIFACT_NAME_FORBIDDEN.test(artifactName) || artifactName.length > 256))
    reader.problem(
      `${Inputs.ArtifactName} must not contain any of " : < > | * ? \\ / or line breaks, got "${artifactName}".`,
    );
  return {
    uploadArtifact: reader.bool(Inputs.UploadArtifact, true),
    artifactName,
    // As in upload-artifact: 0 means the repository default; the repository's setting caps the rest
    // (the artifact client warns and uses the cap).
    retentionDays: reader.number(Inputs.RetentionDays, 0, 0, MAX_RETENTION_DAYS, true) || undefined,
    archive: reader.bool(Inputs.Archive, true),
    overwrite: reader.bool(Inputs.Overwrite, false),
    ...readGithub(reader),
  };
}

function readGithub(reader: InputReader): Pick<ActionInputs, 'githubToken' | 'prComment' | 'releaseTag'> {
  const githubToken = reader.get(Inputs.GithubToken);
  const prComment = reader.bool(Inputs.PrComment, false);
  const releaseTag = reader.get(Inputs.ReleaseTag) || undefined;
  if ((prComment || releaseTag) && !githubToken)
    reader.problem(
      `${prComment ? Inputs.PrComment : Inputs.ReleaseTag} needs ${Inputs.GithubToken}; its default is \${{ github.token }}, so leave it unset or pass a token.`,
    );
  if (githubToken && !HEADER_SAFE.test(githubToken))
    reader.problem(
      `${Inputs.GithubToken} cannot be sent in an HTTP header: it holds a line break, a control character or an invisible character.`,
    );
  if (releaseTag && (/\s/.test(releaseTag) || releaseTag.length > 255))
    reader.problem(`${Inputs.ReleaseTag} must be a tag name without spaces, got "${releaseTag}".`);
  return { githubToken, prComment, releaseTag };
}

function readCredentials(provider: ProviderName, reader: InputReader): Credentials | undefined {
  const apiKey = reader.get(Inputs.ApiKey);
  const accessKey = reader.get(Inputs.AccessKey);
  const secretKey = reader.get(Inputs.SecretKey);
  const unusable = [
    [Inputs.ApiKey, apiKey],
    [Inputs.AccessKey, accessKey],
    [Inputs.SecretKey, secretKey],
  ].filter(([, value]) => value && !HEADER_SAFE.test(value));
  // Never quote the value: it is a secret, and masking does not cover every fragment of it.
  if (unusable.length > 0)
    return reader.problem(
      `${unusable.map(([name]) => name).join(' and ')} cannot be sent in an HTTP header: it holds a line break, a control character or an invisible character such as a zero-width space (from copying). Paste the secret again without them.`,
    );
  if (provider === 'cometapi') {
    if (accessKey || secretKey)
      return reader.problem(
        `${Inputs.AccessKey}/${Inputs.SecretKey} are Kling credentials: set ${Inputs.Provider}: kling to use them, or pass your CometAPI key as ${Inputs.ApiKey}.`,
      );
    if (!apiKey)
      return reader.problem(
        `${Inputs.ApiKey} is required for provider cometapi: pass it from a secret, e.g. \${{ secrets.COMETAPI_KEY }}.`,
      );
    return { kind: 'api_key', apiKey };
  }
  if (apiKey && (accessKey || secretKey))
    return reader.problem(
      `Give either ${Inputs.ApiKey} or ${Inputs.AccessKey} + ${Inputs.SecretKey} for provider kling, not both.`,
    );
  if (apiKey) return { kind: 'api_key', apiKey };
  if (accessKey && !secretKey)
    return reader.problem(`${Inputs.AccessKey} is set but ${Inputs.SecretKey} is empty: give both.`);
  if (secretKey && !accessKey)
    return reader.problem(`${Inputs.SecretKey} is set but ${Inputs.AccessKey} is empty: give both.`);
  if (!accessKey)
    return reader.problem(
      `Provider kling needs credentials: ${Inputs.AccessKey} + ${Inputs.SecretKey}, or a console API key as ${Inputs.ApiKey}.`,
    );
  return { kind: 'access_key', accessKey, secretKey };
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** The API runs on this machine (tests, the demo): then its result files may come over http too. */
export function isLoopback(baseUrl: string): boolean {
  return LOOPBACK.test(new URL(baseUrl).hostname);
}

function readBaseUrl(raw: string, reader: InputReader): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return reader.problem(
      `${Inputs.BaseUrl} must be an absolute URL such as https://api.cometapi.com, got "${raw}".`,
    );
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.test(url.hostname)))
    return reader.problem(
      `${Inputs.BaseUrl} must use https (http is allowed only for 127.0.0.1/localhost), got "${raw}".`,
    );
  if (url.search || url.hash || url.username || url.password)
    return reader.problem(
      `${Inputs.BaseUrl} must be an origin (optionally with a path), without query, fragment or credentials.`,
    );
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
