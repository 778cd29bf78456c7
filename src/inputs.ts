/**
 * Every input is read and validated here, into one frozen object. Nothing else calls core.getInput.
 * All problems are collected, so a user fixes them in one round.
 */
import path from 'node:path';
import { DEFAULT_BASE_URLS, Inputs, PROMPT_MAX_CHARACTERS } from './constants.ts';
import type { ProviderName } from './kling/routes.ts';

export type Source =
  | { kind: 'video_url'; videoUrl: string }
  | { kind: 'video_id'; videoId: string }
  | { kind: 'task_id'; taskId: string };

export type Credentials =
  { kind: 'api_key'; apiKey: string } | { kind: 'access_key'; accessKey: string; secretKey: string };

export type AudioFormat = 'mp3' | 'wav' | 'both';

export interface ActionInputs {
  source: Source;
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

const TRUE = ['true', 'True', 'TRUE'];
const FALSE = ['false', 'False', 'FALSE'];
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const ARTIFACT_NAME_FORBIDDEN = /["<>|*?\r\n\\/:]/;
const MAX_TIMEOUT_SECONDS = 6 * 60 * 60;
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

export function readInputs(getInput: GetInput, workspace: string): ActionInputs {
  const problems: string[] = [];
  const get = (name: string) => getInput(name).trim();
  const problem = (text: string) => {
    problems.push(text);
    return undefined;
  };

  const bool = (name: string, fallback: boolean): boolean => {
    const raw = get(name);
    if (raw === '') return fallback;
    if (TRUE.includes(raw)) return true;
    if (FALSE.includes(raw)) return false;
    problem(`${name} must be true or false, got "${raw}".`);
    return fallback;
  };

  const number = (name: string, fallback: number, min: number, max: number, integer = false): number => {
    const raw = get(name);
    if (raw === '') return fallback;
    const value = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
      problem(
        `${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got "${raw}".`,
      );
      return fallback;
    }
    return value;
  };

  const httpUrl = (name: string, raw: string): string | undefined => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return problem(`${name} must be an absolute http(s) URL, got "${raw}".`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      return problem(
        `${name} must use http or https, got "${url.protocol}" (upload local files somewhere first).`,
      );
    if (url.username || url.password) return problem(`${name} must not carry a user name or password.`);
    return raw;
  };

  const prompt = (name: string): string | undefined => {
    const raw = get(name);
    if (raw === '') return undefined;
    const characters = [...raw].length;
    if (characters > PROMPT_MAX_CHARACTERS)
      return problem(
        `${name} is ${characters} characters long; Kling accepts at most ${PROMPT_MAX_CHARACTERS}. Shorten it.`,
      );
    return raw;
  };

  // Source: exactly one of video_url, video_id, task_id.
  const videoUrl = get(Inputs.VideoUrl);
  const videoId = get(Inputs.VideoId);
  const taskId = get(Inputs.TaskId);
  const given = [videoUrl && Inputs.VideoUrl, videoId && Inputs.VideoId, taskId && Inputs.TaskId].filter(
    Boolean,
  );
  let source: Source | undefined;
  if (given.length !== 1) {
    problem(
      given.length === 0
        ? `Give one of ${Inputs.VideoUrl} (a video to add sound to), ${Inputs.VideoId} (a Kling video) or ${Inputs.TaskId} (an existing task to resume).`
        : `Give exactly one of ${Inputs.VideoUrl}, ${Inputs.VideoId}, ${Inputs.TaskId}; got ${given.join(' and ')}.`,
    );
  } else if (videoUrl) {
    const url = httpUrl(Inputs.VideoUrl, videoUrl);
    const notAVideoFile = url && notAnMp4OrMov(new URL(url));
    if (notAVideoFile) problem(`${Inputs.VideoUrl} ${notAVideoFile}`);
    else if (url) source = { kind: 'video_url', videoUrl: url };
  } else if (videoId) {
    if (/\s/.test(videoId)) problem(`${Inputs.VideoId} must not contain spaces, got "${videoId}".`);
    else source = { kind: 'video_id', videoId };
  } else if (!ID_PATTERN.test(taskId)) {
    problem(
      `${Inputs.TaskId} must be the task id the API returned (letters, digits, . _ : -), got "${taskId}".`,
    );
  } else {
    source = { kind: 'task_id', taskId };
  }

  // Provider, credentials, base URL.
  const providerRaw = get(Inputs.Provider).toLowerCase() || 'cometapi';
  let provider: ProviderName = 'cometapi';
  if (providerRaw === 'cometapi' || providerRaw === 'kling') provider = providerRaw;
  else problem(`${Inputs.Provider} must be "cometapi" or "kling", got "${providerRaw}".`);

  const credentials = readCredentials(provider, get, problem);
  const baseUrl = readBaseUrl(get(Inputs.BaseUrl) || DEFAULT_BASE_URLS[provider], problem);

  const callbackRaw = get(Inputs.CallbackUrl);
  const callbackUrl = callbackRaw ? httpUrl(Inputs.CallbackUrl, callbackRaw) : undefined;

  const externalTaskId = get(Inputs.ExternalTaskId) || undefined;
  if (externalTaskId && !ID_PATTERN.test(externalTaskId))
    problem(
      `${Inputs.ExternalTaskId} may use letters, digits and . _ : - (at most 128), got "${externalTaskId}".`,
    );

  const timeoutSeconds = number(Inputs.TimeoutSeconds, 900, 1, MAX_TIMEOUT_SECONDS);
  const pollIntervalSeconds = number(Inputs.PollIntervalSeconds, 5, 0.01, MAX_POLL_INTERVAL_SECONDS);

  const formatRaw = get(Inputs.AudioFormat).toLowerCase() || 'mp3';
  let audioFormat: AudioFormat = 'mp3';
  if (formatRaw === 'mp3' || formatRaw === 'wav' || formatRaw === 'both') audioFormat = formatRaw;
  else problem(`${Inputs.AudioFormat} must be mp3, wav or both, got "${formatRaw}".`);

  const outputRaw = get(Inputs.OutputDir) || 'kling-audio';
  const outputDir = path.resolve(workspace, outputRaw);

  const artifactName = get(Inputs.ArtifactName) || undefined;
  if (artifactName && (ARTIFACT_NAME_FORBIDDEN.test(artifactName) || artifactName.length > 256))
    problem(
      `${Inputs.ArtifactName} must not contain any of " : < > | * ? \\ / or line breaks, got "${artifactName}".`,
    );

  // As in upload-artifact: 0 means the repository default; the repository's setting caps the rest
  // (the artifact client warns and uses the cap).
  const retentionDays = number(Inputs.RetentionDays, 0, 0, MAX_RETENTION_DAYS, true) || undefined;

  const inputs: ActionInputs = {
    source: source ?? { kind: 'task_id', taskId: '' },
    provider,
    credentials: credentials ?? { kind: 'api_key', apiKey: '' },
    baseUrl: baseUrl ?? '',
    soundEffectPrompt: prompt(Inputs.SoundEffectPrompt),
    bgmPrompt: prompt(Inputs.BgmPrompt),
    asmrMode: bool(Inputs.AsmrMode, false),
    callbackUrl,
    externalTaskId,
    wait: bool(Inputs.Wait, true),
    timeoutSeconds,
    pollIntervalSeconds,
    audioFormat,
    includeVideo: bool(Inputs.IncludeVideo, false),
    outputDir,
    uploadArtifact: bool(Inputs.UploadArtifact, true),
    artifactName,
    retentionDays,
  };
  if (pollIntervalSeconds > timeoutSeconds)
    problem(
      `${Inputs.PollIntervalSeconds} (${pollIntervalSeconds}) must not exceed ${Inputs.TimeoutSeconds} (${timeoutSeconds}).`,
    );
  if (problems.length > 0) throw new InputError(problems);
  Object.freeze(inputs.source);
  Object.freeze(inputs.credentials);
  return Object.freeze(inputs);
}

function readCredentials(
  provider: ProviderName,
  get: (name: string) => string,
  problem: (text: string) => undefined,
): Credentials | undefined {
  const apiKey = get(Inputs.ApiKey);
  const accessKey = get(Inputs.AccessKey);
  const secretKey = get(Inputs.SecretKey);
  if (provider === 'cometapi') {
    if (accessKey || secretKey)
      return problem(
        `${Inputs.AccessKey}/${Inputs.SecretKey} are Kling credentials: set ${Inputs.Provider}: kling to use them, or pass your CometAPI key as ${Inputs.ApiKey}.`,
      );
    if (!apiKey)
      return problem(
        `${Inputs.ApiKey} is required for provider cometapi: pass it from a secret, e.g. \${{ secrets.COMETAPI_KEY }}.`,
      );
    return { kind: 'api_key', apiKey };
  }
  if (apiKey && (accessKey || secretKey))
    return problem(
      `Give either ${Inputs.ApiKey} or ${Inputs.AccessKey} + ${Inputs.SecretKey} for provider kling, not both.`,
    );
  if (apiKey) return { kind: 'api_key', apiKey };
  if (accessKey && !secretKey)
    return problem(`${Inputs.AccessKey} is set but ${Inputs.SecretKey} is empty: give both.`);
  if (secretKey && !accessKey)
    return problem(`${Inputs.SecretKey} is set but ${Inputs.AccessKey} is empty: give both.`);
  if (!accessKey)
    return problem(
      `Provider kling needs credentials: ${Inputs.AccessKey} + ${Inputs.SecretKey}, or a console API key as ${Inputs.ApiKey}.`,
    );
  return { kind: 'access_key', accessKey, secretKey };
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

function readBaseUrl(raw: string, problem: (text: string) => undefined): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return problem(
      `${Inputs.BaseUrl} must be an absolute URL such as https://api.cometapi.com, got "${raw}".`,
    );
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.test(url.hostname)))
    return problem(
      `${Inputs.BaseUrl} must use https (http is allowed only for 127.0.0.1/localhost), got "${raw}".`,
    );
  if (url.search || url.hash || url.username || url.password)
    return problem(
      `${Inputs.BaseUrl} must be an origin (optionally with a path), without query, fragment or credentials.`,
    );
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
