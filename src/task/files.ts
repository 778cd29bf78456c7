/** Which files a finished task yields and where they go: names come from the task id only. */
import path from 'node:path';
import type { Task } from '../kling/responses.ts';

export type AudioFormat = 'mp3' | 'wav' | 'both';
export type MediaKind = 'mp3' | 'wav' | 'mp4';

export interface PlannedFile {
  /** `source`: the step's source video, fetched for a stage after the task (never delivered). */
  role: 'audio' | 'video' | 'source';
  kind: MediaKind;
  url: string;
  path: string;
}

export interface DownloadedFile extends PlannedFile {
  bytes: number;
}

/** The source video with the generated soundtrack, made on the runner by the stage after the task. */
export interface MuxedVideoFile {
  role: 'muxed';
  /** The source's container, kept. */
  kind: 'mp4' | 'mov';
  path: string;
  bytes: number;
}

/** A file of an entry's result: downloaded from the task, or made from it on the runner. */
export type ResultFile = DownloadedFile | MuxedVideoFile;

/** A succeeded task without the result asked for. */
export class MissingResultError extends Error {
  readonly kind: MediaKind;
  constructor(task: Task, kind: MediaKind) {
    const field = kind === 'mp3' ? 'url_mp3' : kind === 'wav' ? 'url_wav' : 'video';
    const empty = kind === 'mp4' ? task.videos.length === 0 : task.audios.length === 0;
    super(
      `Task ${task.taskId} succeeded but returned no ${field}` +
        `${empty ? ` (task_result.${kind === 'mp4' ? 'videos' : 'audios'} is empty)` : ''}.`,
    );
    this.name = 'MissingResultError';
    this.kind = kind;
  }
}

export function planDownloads(
  task: Task,
  format: AudioFormat,
  includeVideo: boolean,
  outputDir: string,
): PlannedFile[] {
  const audio = task.audios[0];
  const base = path.join(outputDir, safeFileStem(task.taskId));
  const kinds: ('mp3' | 'wav')[] = format === 'both' ? ['mp3', 'wav'] : [format];
  const files: PlannedFile[] = kinds.map((kind) => {
    const url = kind === 'mp3' ? audio?.mp3Url : audio?.wavUrl;
    if (!url) throw new MissingResultError(task, kind);
    return { role: 'audio', kind, url, path: `${base}.${kind}` };
  });
  if (includeVideo) {
    const video = task.videos[0];
    if (!video) throw new MissingResultError(task, 'mp4');
    files.push({ role: 'video', kind: 'mp4', url: video.url, path: `${base}.mp4` });
  }
  return files;
}

/** A task id as a file or artifact name part: only characters every file system and artifact name allow. */
export function safeFileStem(taskId: string): string {
  return taskId.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || 'task';
}
