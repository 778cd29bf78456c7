/**
 * A source is one type, made once when the inputs are read. Every stage asks it what it needs through
 * `describeSource`, so adding a kind means adding one case here (and where the kind is read).
 */
import path from 'node:path';

export type Source =
  | { kind: 'video_url'; videoUrl: string }
  | { kind: 'video_id'; videoId: string }
  | { kind: 'task_id'; taskId: string }
  | LocalFile;

/** A video on the runner: staged where the API can fetch it. */
export interface LocalFile {
  kind: 'video_path';
  /** As written (or as a pattern matched it), relative to the workspace: how results name it. */
  path: string;
  /** Where it is on disk. */
  absolute: string;
  /** Hex sha256 of its bytes: what tells it apart, for the staged object's key, the cache and sharing. */
  sha256: string;
  bytes: number;
}

/** One task the step runs: its source and the request options that may differ per entry. */
export interface Entry {
  source: Source;
  /** How results and the summary name it: the JSON entry's name, else the source as written. */
  name: string;
  soundEffectPrompt?: string;
  bgmPrompt?: string;
  asmrMode: boolean;
}

/** What the create request says of the video. */
export type VideoField = { video_url: string } | { video_id: string };

export interface SourceFacts {
  /** As the user wrote it: `results[].source`, and the entry's name unless one was given. */
  text: string;
  /** In words, for the single-video summary: the URL, "video 123", "existing task 456". */
  description: string;
  /** The stem of the release assets: stable from run to run, never the task id. */
  assetStem: string;
  /** What the create names; undefined for an existing task, which is attached to, not created. */
  video?: VideoField;
  /** The existing task to attach to. */
  taskId?: string;
  /** The URL a preflight reads. */
  remoteUrl?: string;
  /** The same for every spelling of one video (host case, default port): entries with it may share a task. */
  identity?: string;
  /** The file on the runner: it is checked on disk, staged for the API, and muxed from there. */
  file?: LocalFile;
}

export function describeSource(source: Source): SourceFacts {
  switch (source.kind) {
    case 'video_url':
      return {
        text: source.videoUrl,
        description: source.videoUrl,
        assetStem: assetStem(fileStem(source.videoUrl)),
        video: { video_url: source.videoUrl },
        remoteUrl: source.videoUrl,
        identity: `url ${sameUrl(source.videoUrl)}`,
      };
    case 'video_id':
      return {
        text: source.videoId,
        description: `video ${source.videoId}`,
        assetStem: assetStem(`video-${source.videoId}`),
        video: { video_id: source.videoId },
        identity: `id ${source.videoId}`,
      };
    case 'video_path':
      return {
        text: source.path,
        description: source.path,
        assetStem: assetStem(path.basename(source.path).replace(/\.[^.]*$/, '')),
        identity: `file ${source.sha256}`,
        file: source,
      };
    case 'task_id':
      return {
        text: source.taskId,
        description: `existing task ${source.taskId}`,
        assetStem: assetStem(`task-${source.taskId}`),
        taskId: source.taskId,
      };
  }
}

/** One URL however it is spelled: host case, default port, dot segments. */
function sameUrl(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return url;
  }
}

/** The last path segment without its extension, decoded: `trailer-final` of `…/trailer-final.mp4`. */
function fileStem(url: string): string {
  const segment = path.posix.basename(new URL(url).pathname);
  let decoded = segment;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    // A malformed escape: keep it as it came.
  }
  return decoded.replace(/\.[^.]*$/, '');
}

/** Only characters every file system and GitHub's asset names take. */
function assetStem(raw: string): string {
  return (
    raw
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[-.]+|[-.]+$/g, '')
      .slice(0, 80) || 'kling-audio'
  );
}
