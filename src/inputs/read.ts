/**
 * Every input is read and validated here, into one frozen object: the step's settings and one
 * `Entry` (with its `Source`) per video. No request is made before this has passed.
 */
import path from 'node:path';
import { DEFAULT_BASE_URLS, Inputs } from '../constants.ts';
import type { ProviderName } from '../kling/routes.ts';
import { quoteExternal } from '../net/external-text.ts';
import { policy } from '../policy.ts';
import { describeSource, type Entry, type Source } from '../sources/source.ts';
import { versionHint } from '../step/advice.ts';
import type { AudioFormat } from '../task/files.ts';
import { readBaseUrl, readCredentials, type Credentials } from './api.ts';
import { InputError, InputReader, HEADER_SAFE, type GetInput } from './reader.ts';
import { videoUrlProblem } from './urls.ts';
import { readStaging, type StagingSettings } from './staging.ts';
import { parseVideos, type FileWanted } from './videos.ts';

export { InputError, type GetInput };

export type Environment = Readonly<Record<string, string | undefined>>;

/** A path or pattern of `video_path` or `videos`, and the place its files take among the entries. */
export interface FileRequest {
  at: number;
  file: FileWanted;
  /** A JSON entry's own name; files a pattern finds are named after themselves. */
  name?: string;
  options: Pick<Entry, 'soundEffectPrompt' | 'bgmPrompt' | 'asmrMode'>;
}

export interface ActionInputs {
  /** In input order; one unless `videos` was given. Files on the runner join them once found (files.ts). */
  entries: readonly Entry[];
  /** Paths and patterns still to find on the runner, each with the place its files take in `entries`. */
  files: readonly FileRequest[];
  /** Where local files are staged; undefined when `staging_url` is empty. */
  staging?: StagingSettings;
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
  /** Also write each source video with the generated audio as its soundtrack. */
  mux: boolean;
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

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const ARTIFACT_NAME_FORBIDDEN = /["<>|*?\r\n\\/:]/;
const { inputs: limits } = policy;

export function readInputs(getInput: GetInput, workspace: string, env: Environment = {}): ActionInputs {
  const reader = new InputReader(getInput);
  const soundEffectPrompt = reader.prompt(Inputs.SoundEffectPrompt);
  const bgmPrompt = reader.prompt(Inputs.BgmPrompt);
  const asmrMode = reader.bool(Inputs.AsmrMode, false);
  const { entries, files } = readEntries(reader, { soundEffectPrompt, bgmPrompt, asmrMode });
  const provider = reader.oneOf<ProviderName>(Inputs.Provider, ['cometapi', 'kling'], 'cometapi');
  const credentials = readCredentials(provider, reader);
  const baseUrl = readBaseUrl(reader.get(Inputs.BaseUrl) || DEFAULT_BASE_URLS[provider], reader);
  const callbackRaw = reader.get(Inputs.CallbackUrl);

  const inputs: ActionInputs = {
    entries,
    files,
    staging: readStaging(reader, env, files.length > 0),
    batch: reader.get(Inputs.Videos) !== '',
    preflight: reader.bool(Inputs.Preflight, true),
    cache: reader.bool(Inputs.Cache, false),
    maxConcurrency: reader.number(Inputs.MaxConcurrency, 2, 1, limits.maxConcurrency, true),
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
    mux: readMux(reader, entries),
    outputDir: path.resolve(workspace, reader.get(Inputs.OutputDir) || 'kling-audio'),
    ...readDeliveries(reader),
  };
  if (reader.problems.length > 0) throw new InputError(reader.problems);
  for (const entry of entries) Object.freeze(Object.freeze(entry).source);
  Object.freeze(inputs.entries);
  Object.freeze(inputs.files);
  Object.freeze(inputs.credentials);
  return Object.freeze(inputs);
}

type StepDefaults = Pick<Entry, 'soundEffectPrompt' | 'bgmPrompt' | 'asmrMode'>;

/** What the step's entries are made of: entries ready now, and files to find on the runner. */
interface Wanted {
  entries: Entry[];
  files: FileRequest[];
}

/**
 * `videos`, or exactly one of video_url, video_id, video_path, task_id: the entries with the step's
 * defaults applied. Paths and patterns are looked up on disk later (files.ts), each at its place.
 */
function readEntries(reader: InputReader, defaults: StepDefaults): Wanted {
  const wanted: Wanted = { entries: [], files: [] };
  const videos = reader.get(Inputs.Videos);
  if (videos) {
    const single = SINGLE_SOURCES.filter((name) => reader.get(name));
    if (single.length > 0)
      reader.problem(
        `Give either ${Inputs.Videos} or ${single.join(' and ')}, not both: ${Inputs.Videos} lists every video of the step.`,
      );
    for (const entry of parseVideos(videos, videoUrlProblem, reader.problems)) {
      const { source, name, ...options } = entry;
      const withDefaults = { ...defaults, ...options, asmrMode: options.asmrMode ?? defaults.asmrMode };
      if (source.kind === 'file')
        wanted.files.push({
          at: wanted.entries.length + wanted.files.length,
          file: source,
          // A line's pattern names each file it finds; a JSON entry keeps its own name.
          ...(name !== source.pattern ? { name } : {}),
          options: withDefaults,
        });
      else wanted.entries.push({ ...withDefaults, source, name });
    }
    return wanted;
  }
  const source = readSource(reader);
  if (source?.kind === 'file') wanted.files.push({ at: 0, file: source, options: defaults });
  else if (source) wanted.entries.push({ ...defaults, source, name: describeSource(source).text });
  return wanted;
}

const SINGLE_SOURCES = [Inputs.VideoUrl, Inputs.VideoId, Inputs.VideoPath, Inputs.TaskId];

/** Exactly one of video_url, video_id, video_path, task_id. */
function readSource(reader: InputReader): Source | FileWanted | undefined {
  const [videoUrl, videoId, videoPath, taskId] = SINGLE_SOURCES.map((name) => reader.get(name));
  const given = SINGLE_SOURCES.filter((name) => reader.get(name));
  if (given.length !== 1)
    return reader.problem(
      given.length === 0
        ? `Give one of ${Inputs.VideoUrl} (a video to add sound to), ${Inputs.VideoId} (a Kling video), ${Inputs.VideoPath} (a video file on the runner), ${Inputs.TaskId} (an existing task to resume) or ${Inputs.Videos} (several videos).`
        : `Give exactly one of ${SINGLE_SOURCES.join(', ')}; got ${given.join(' and ')}.`,
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
  if (videoPath) return { kind: 'file', pattern: videoPath, literal: true, where: Inputs.VideoPath };
  if (!ID_PATTERN.test(taskId!))
    return reader.problem(
      `${Inputs.TaskId} must be the task id the API returned (letters, digits, . _ : -), got "${taskId}".`,
    );
  return { kind: 'task_id', taskId: taskId! };
}

/** `mux`, which needs every entry's video as a file the runner can read: a local file, or a URL. */
function readMux(reader: InputReader, entries: readonly Entry[]): boolean {
  const mux = reader.bool(Inputs.Mux, false);
  if (!mux) return mux;
  const without = entries.flatMap((entry, i) => {
    const facts = describeSource(entry.source);
    return facts.file || facts.remoteUrl !== undefined ? [] : [{ entry, i, facts }];
  });
  if (without.length === 0) return mux;
  const needs = `${Inputs.Mux}: true puts the soundtrack into the source video, so it needs the video itself`;
  if (!reader.get(Inputs.Videos)) {
    const { facts } = without[0]!;
    reader.problem(
      facts.taskId !== undefined
        ? `${needs}, and ${Inputs.TaskId} collects an existing task, which names no video file. Give the video as ${Inputs.VideoUrl} instead, or leave ${Inputs.Mux} off.`
        : `${needs}, and ${Inputs.VideoId} names a video kept by Kling, not a file the action can read. Give the video as ${Inputs.VideoUrl}, or leave ${Inputs.Mux} off.`,
    );
    return mux;
  }
  const shown = without.slice(0, 10).map(({ entry, i }) => `${i + 1} (${quoteExternal(entry.name, 100)})`);
  const more = without.length > shown.length ? ` and ${without.length - shown.length} more` : '';
  reader.problem(
    `${needs}; ${Inputs.Videos} ${without.length === 1 ? 'entry' : 'entries'} ${shown.join(', ')}${more} ` +
      `${without.length === 1 ? 'is a Kling video id' : 'are Kling video ids'}, not files the action can read. ` +
      `Give ${without.length === 1 ? 'its' : 'their'} video URLs instead, or leave ${Inputs.Mux} off.`,
  );
  return mux;
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
  const timeoutSeconds = reader.number(Inputs.TimeoutSeconds, 900, 1, limits.maxTimeoutSeconds);
  const pollIntervalSeconds = reader.number(
    Inputs.PollIntervalSeconds,
    5,
    0.01,
    limits.maxPollIntervalSeconds,
  );
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
    retentionDays: reader.number(Inputs.RetentionDays, 0, 0, limits.maxRetentionDays, true) || undefined,
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

/** The credentials among the inputs, to mask before anything can print them. */
export function secretInputs(getInput: GetInput): string[] {
  return [Inputs.ApiKey, Inputs.AccessKey, Inputs.SecretKey, Inputs.GithubToken]
    .map((name) => getInput(name).trim())
    .filter(Boolean);
}

/** Inputs that are valid but likely not what the user meant. */
export function inputWarnings(inputs: ActionInputs): string[] {
  const warnings: string[] = [];
  const hint = versionHint(inputs.baseUrl);
  if (hint) warnings.push(`${Inputs.BaseUrl} is ${inputs.baseUrl}.${hint}`);
  if (inputs.mux && !inputs.wait)
    warnings.push(
      `${Inputs.Mux} has no effect with ${Inputs.Wait}: false: the step ends before the audio exists, so no video is muxed.`,
    );
  if (describeSource(inputs.entries[0]!.source).taskId === undefined) return warnings;
  const ignored = [
    inputs.soundEffectPrompt && Inputs.SoundEffectPrompt,
    inputs.bgmPrompt && Inputs.BgmPrompt,
    inputs.asmrMode && Inputs.AsmrMode,
    inputs.callbackUrl && Inputs.CallbackUrl,
    inputs.externalTaskId && Inputs.ExternalTaskId,
  ].filter(Boolean);
  if (ignored.length > 0)
    warnings.push(
      `${ignored.join(', ')} ${ignored.length === 1 ? 'has' : 'have'} no effect with ${Inputs.TaskId}: the task already exists.`,
    );
  return warnings;
}
