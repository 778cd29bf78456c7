import nock from 'nock';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
/**
 * Test doubles shared by the unit tests: a clock that only moves when told, a sleep that advances it
 * and records every delay, a log and an output sink that record what they were given, and builders
 * for tasks (parsed) and API bodies (raw JSON).
 */
import type { RetrySchedule } from '../../src/net/backoff.ts';
import { policy } from '../../src/policy.ts';
import type { OutputName } from '../../src/constants.ts';
import type { OutputSink } from '../../src/report/task-report.ts';
import type { RetryContext } from '../../src/net/retry.ts';
import type { Clock, Log, Sleep } from '../../src/runtime.ts';
import type { ClientLimits } from '../../src/kling/client.ts';
import type { Task, TaskAudio, TaskStatus, TaskVideo } from '../../src/kling/responses.ts';

/** A Kling client's limits for tests: short request timeouts, a few attempts at bad answers. */
export const TEST_CLIENT_LIMITS: ClientLimits = {
  requestTimeoutMs: 5_000,
  maxAnswerBytes: policy.request.maxAnswerBytes,
  lookupMalformedAttempts: 3,
  otherTaskAttempts: 3,
  unreachableWithinMs: 5_000,
};

/** 2026-01-01T00:00:00Z: a round instant, far from any real "now". */
export const T0 = Date.UTC(2026, 0, 1);

export class FakeClock implements Clock {
  ms: number;
  constructor(ms = T0) {
    this.ms = ms;
  }
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export type FakeSleep = Sleep & { delays: number[] };

/** Resolves at once, moving the clock forward by the delay; rejects with the reason when already aborted. */
export function fakeSleep(clock: FakeClock): FakeSleep {
  const delays: number[] = [];
  const sleep = (ms: number, signal?: AbortSignal): Promise<void> => {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    delays.push(ms);
    clock.advance(Math.max(0, ms));
    return Promise.resolve();
  };
  return Object.assign(sleep, { delays });
}

export interface LogLine {
  level: 'info' | 'warning' | 'debug';
  message: string;
  atMs: number;
  /** A warning marked as a passing problem being retried. */
  transient?: boolean;
}

export type RecordingLog = Log & { lines: LogLine[]; at(level: LogLine['level']): string[] };

export function recordingLog(clock: Clock = new FakeClock()): RecordingLog {
  const lines: LogLine[] = [];
  const push = (level: LogLine['level']) => (message: string, options?: { transient?: boolean }) => {
    lines.push({ level, message, atMs: clock.now(), ...(options?.transient ? { transient: true } : {}) });
  };
  return {
    lines,
    info: push('info'),
    warning: push('warning'),
    debug: push('debug'),
    at: (level) => lines.filter((l) => l.level === level).map((l) => l.message),
  };
}

export type SinkEvent = { kind: 'output' | 'state'; name: string; value: string };

export type RecordingSink = OutputSink & {
  events: SinkEvent[];
  /** The last value set for an output. */
  output(name: OutputName): string | undefined;
  state(name: string): string | undefined;
};

export function recordingSink(): RecordingSink {
  const events: SinkEvent[] = [];
  const last = (kind: SinkEvent['kind'], name: string) =>
    events.filter((e) => e.kind === kind && e.name === name).at(-1)?.value;
  return {
    events,
    setOutput: (name, value) => events.push({ kind: 'output', name, value }),
    saveState: (name, value) => events.push({ kind: 'state', name, value }),
    output: (name) => last('output', name),
    state: (name) => last('state', name),
  };
}

/** A `random` that always returns `value`. */
export const constantRandom =
  (value: number): (() => number) =>
  () =>
    value;

export interface FakeRetryContext extends RetryContext {
  clock: FakeClock;
  sleep: FakeSleep;
  log: RecordingLog;
}

export function fakeRetryContext(
  overrides: { random?: () => number; schedule?: RetrySchedule; signal?: AbortSignal } = {},
): FakeRetryContext {
  const clock = new FakeClock();
  return {
    clock,
    sleep: fakeSleep(clock),
    log: recordingLog(clock),
    random: overrides.random ?? constantRandom(0),
    schedule: overrides.schedule ?? policy.retry.schedule,
    signal: overrides.signal,
  };
}

// ---- Parsed tasks ----

export function task(overrides: Partial<Task> = {}): Task {
  return { taskId: 'task-1', status: 'submitted', audios: [], videos: [], ...overrides };
}

export function succeededTask(
  overrides: Partial<Task> & { audio?: Partial<TaskAudio>; video?: TaskVideo | null } = {},
): Task {
  const { audio, video, ...rest } = overrides;
  return task({
    status: 'succeed',
    audios: [
      {
        id: 'audio-1',
        mp3Url: 'https://cdn.example.com/a.mp3',
        wavUrl: 'https://cdn.example.com/a.wav',
        mp3Duration: '5.04',
        wavDuration: '5.05',
        ...audio,
      },
    ],
    videos: video === null ? [] : [video ?? { id: 'video-1', url: 'https://cdn.example.com/v.mp4' }],
    ...rest,
  });
}

// ---- Raw API bodies (reference §2.2, §3.1, §4) ----

export function apiTask(taskId: string, status: TaskStatus, extra: Record<string, unknown> = {}) {
  return {
    task_id: taskId,
    task_status: status,
    task_info: {},
    created_at: 1722769557708,
    updated_at: 1722769557708,
    ...extra,
  };
}

export function apiSucceededTask(taskId: string, externalTaskId?: string) {
  return apiTask(taskId, 'succeed', {
    task_info: externalTaskId ? { external_task_id: externalTaskId } : {},
    task_result: {
      videos: [{ id: 'v1', url: 'https://cdn.example.com/v.mp4', duration: '5.0' }],
      audios: [
        {
          id: 'a1',
          url_mp3: 'https://cdn.example.com/a.mp3',
          url_wav: 'https://cdn.example.com/a.wav',
          duration_mp3: '5.04',
          duration_wav: '5.05',
        },
      ],
    },
  });
}

export function ok(data: unknown, requestId = 'req-ok') {
  return { code: 0, message: 'SUCCEED', request_id: requestId, data };
}

export function klingError(code: number, message: string, requestId = 'req-err') {
  return { code, message, request_id: requestId };
}

export function cometError(message: string, code = '') {
  return { error: { message, type: 'comet_api_error', param: '', code } };
}

// ---- Media heads (real magic bytes) ----

/** An MPEG-1 Layer III frame header (128 kbps, 48 kHz, mono) followed by silence. */
export function mp3Bytes(length = 1024): Buffer {
  const b = Buffer.alloc(length);
  b.set([0xff, 0xfb, 0x94, 0xc4]);
  for (let i = 4; i < length; i++) b[i] = (i * 7) & 0xff;
  return b;
}

/** A RIFF/WAVE PCM header followed by samples. */
export function wavBytes(length = 1024): Buffer {
  const b = Buffer.alloc(length);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(length - 8, 4);
  b.write('WAVEfmt ', 8, 'latin1');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(16000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'latin1');
  b.writeUInt32LE(length - 44, 40);
  for (let i = 44; i < length; i++) b[i] = (i * 13) & 0xff;
  return b;
}

/** An ISO BMFF file starting with an `ftyp` box. */
export function mp4Bytes(length = 1024): Buffer {
  const b = Buffer.alloc(length);
  b.writeUInt32BE(24, 0);
  b.write('ftypisom', 4, 'latin1');
  b.writeUInt32BE(512, 12);
  b.write('isomiso2', 16, 'latin1');
  for (let i = 24; i < length; i++) b[i] = (i * 3) & 0xff;
  return b;
}

/** HTTP in unit tests goes to nock only; loopback stays open for the small local servers some tests start. */
export function useNockWithLoopbackOnly(): void {
  beforeAll(() => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
  });
  afterEach(() => {
    nock.cleanAll();
  });
  afterAll(() => {
    nock.enableNetConnect();
  });
}

/** The error a promise rejects with, checked to be an instance of `type`; fails when it resolves. */
export async function rejectionOf<T extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
): Promise<T> {
  const error = await promise.then(
    () => {
      throw new Error(`expected a rejection with ${type.name}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  return error as T;
}
