import { randomUUID } from 'node:crypto';
import { mp3DurationSeconds } from '../media.ts';
import { failMessageOf, type Progress, type StoredTask } from './tasks.ts';
import type { ResultFiles } from './types.ts';

/** Kling's envelope (reference §2.2, §3.1); CometAPI passes it through. */
export function klingOk(data: unknown): unknown {
  return { code: 0, message: 'SUCCEED', request_id: randomUUID(), data };
}

/** Kling's error body: no data (reference §4.1). */
export function klingError(code: number, message: string): unknown {
  return { code, message, request_id: randomUUID() };
}

/** The create answer: a task just registered is always `submitted`. */
export function createdTaskData(task: StoredTask): Record<string, unknown> {
  return {
    task_id: task.task_id,
    task_info: taskInfo(task),
    task_status: 'submitted',
    created_at: task.created_at,
    updated_at: task.created_at,
  };
}

/** The query answer's data (reference §3.1): the result only once succeeded, the reason only once failed. */
export function queriedTaskData(
  task: StoredTask,
  progress: Progress,
  files: ResultFiles,
  audioSeconds: number,
): Record<string, unknown> {
  return {
    task_id: task.task_id,
    task_status: progress.status,
    ...(progress.status === 'failed' ? { task_status_msg: failMessageOf(task) } : {}),
    task_info: taskInfo(task),
    task_result: progress.status === 'succeed' ? taskResult(task, files, audioSeconds) : {},
    // Billing appears once the task has ended (the fields are optional; the zh doc lists both).
    ...(progress.status === 'succeed'
      ? { final_unit_deduction: '1', final_balance_deduction: { quota: '0.10', list_price: '0.10' } }
      : {}),
    created_at: task.created_at,
    updated_at: task.created_at + progress.changedAfterMs,
  };
}

const WRAPPED_STATUS = {
  submitted: 'NOT_START',
  processing: 'IN_PROGRESS',
  succeed: 'SUCCESS',
  failed: 'FAILURE',
} as const;

/**
 * CometAPI's older query envelope (reference §3.2): the native data nested one level down. `status`
 * replaces the mapped one (an undocumented-status fault).
 */
export function wrappedQueryBody(
  task: StoredTask,
  progress: Progress,
  native: Record<string, unknown>,
  status?: string,
): unknown {
  return {
    code: 'success',
    message: '',
    data: {
      task_id: task.task_id,
      status: status ?? WRAPPED_STATUS[progress.status],
      progress: `${progress.percent}%`,
      fail_reason: progress.status === 'failed' ? failMessageOf(task) : '',
      data: native,
    },
  };
}

function taskInfo(task: StoredTask): Record<string, string> {
  return task.external_task_id === undefined ? {} : { external_task_id: task.external_task_id };
}

function taskResult(task: StoredTask, files: ResultFiles, audioSeconds: number): unknown {
  const seconds = audioSeconds.toFixed(3);
  return {
    videos: [{ id: task.videoId, url: files.mp4, duration: seconds }],
    audios: [
      {
        id: task.audioId,
        url_mp3: files.mp3,
        url_wav: files.wav,
        duration_mp3: mp3DurationSeconds(audioSeconds).toFixed(3),
        duration_wav: seconds,
      },
    ],
  };
}
