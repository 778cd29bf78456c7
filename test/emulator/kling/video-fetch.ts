/**
 * Kling fetches a task's `video_url` itself once the task is created, and fails the task when it
 * cannot: a refused or expired presigned URL (403), a missing file (404), something that is not a
 * video, a file over 100 MB. The emulator does the same for URLs on loopback (127.0.0.1, localhost,
 * [::1]): the servers tests start (the object-store emulator, a test's own file host). Tests have no
 * network, so any other host (the many fictional https://example.com/… URLs) is taken as it is and
 * never fetched.
 */
import { readMovieRecord } from '../../support/iso-box.ts';

/** Whether the emulator fetches videos: 'loopback' (default) fetches loopback URLs, 'off' none. */
export type VideoFetchMode = 'loopback' | 'off';

export interface VideoFetch {
  taskId: string;
  url: string;
  state: 'pending' | 'fetched' | 'failed';
  /** The answer's HTTP status (after redirects); 0 when none came. */
  status: number;
  /** Body bytes read. */
  bytes: number;
  /** The task_status_msg the task fails with. */
  failure?: string;
  /** How long the video's picture lasts, when its moov box could be read: the generated audio lasts as long. */
  seconds?: number;
  /** performance.now() when the fetch began and ended. */
  startedAtMs: number;
  endedAtMs?: number;
}

/** Kling's "≤ 100 MB", read as decimal. */
const MAX_BYTES = 100 * 1000 * 1000;
const TIMEOUT_MS = 30_000;
/** ISO BMFF (MP4) and QuickTime (MOV) files begin with one of these boxes. */
const VIDEO_BOXES = new Set(['ftyp', 'moov', 'mdat', 'free', 'wide', 'skip', 'pnot']);

export function isLoopbackUrl(raw: string): boolean {
  try {
    const url = new URL(raw);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/i.test(url.hostname)
    );
  } catch {
    return false;
  }
}

/** Fetches the whole video as Kling would (no credentials, redirects followed) and judges it. */
export async function fetchVideo(record: VideoFetch, closing: AbortSignal): Promise<void> {
  const signal = AbortSignal.any([closing, AbortSignal.timeout(TIMEOUT_MS)]);
  try {
    const response = await fetch(record.url, {
      signal,
      headers: { 'User-Agent': 'kling-emulator-video-fetch' },
    });
    record.status = response.status;
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      return fail(record, `Video download failed: the video URL answered HTTP ${response.status}`);
    }
    if (Number(response.headers.get('content-length') ?? 0) > MAX_BYTES) {
      await response.body?.cancel().catch(() => {});
      return fail(record, 'Video file is larger than 100MB');
    }
    const head: number[] = [];
    const moov = new MoovCatcher();
    for await (const chunk of response.body ?? []) {
      const bytes = chunk as Uint8Array;
      for (let i = 0; head.length < 8 && i < bytes.length; i++) head.push(bytes[i]!);
      moov.take(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      record.bytes += bytes.length;
      if (record.bytes > MAX_BYTES) {
        await response.body?.cancel().catch(() => {});
        return fail(record, 'Video file is larger than 100MB');
      }
    }
    const box = Buffer.from(head.slice(4, 8)).toString('latin1');
    if (!VIDEO_BOXES.has(box))
      return fail(record, 'Video format is not supported: only MP4 and MOV are accepted');
    record.seconds = moov.box && pictureSeconds(moov.box);
    record.state = 'fetched';
    record.endedAtMs = performance.now();
  } catch (error) {
    if (closing.aborted) return fail(record, 'Video download was interrupted');
    const timedOut = signal.aborted;
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    fail(
      record,
      timedOut ? 'Video download timed out' : `Video download failed: ${cause ?? 'network error'}`,
    );
  }
}

function fail(record: VideoFetch, failure: string): void {
  record.state = 'failed';
  record.failure = failure;
  record.endedAtMs = performance.now();
}

/** A moov larger than this is not kept (the video's length is then unknown). */
const MAX_MOOV_BYTES = 16 * 1024 * 1024;

/**
 * Follows the top-level boxes as the bytes stream past and keeps the moov box, so the video's length
 * is known without holding the file: only a box header, or moov itself, is ever kept.
 */
export class MoovCatcher {
  /** The moov box, header included, once it has passed. */
  box: Buffer | undefined;
  #pending: Buffer = Buffer.alloc(0);
  /** Bytes of the current box still to pass before the next header. */
  #skip = 0;
  #stopped = false;

  take(chunk: Buffer): void {
    if (this.#stopped || this.box) return;
    this.#pending = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    for (;;) {
      if (this.#skip > 0) {
        const passed = Math.min(this.#skip, this.#pending.length);
        this.#pending = this.#pending.subarray(passed);
        this.#skip -= passed;
        if (this.#skip > 0) return;
      }
      if (this.#pending.length < 8) return;
      let size = this.#pending.readUInt32BE(0);
      let header = 8;
      if (size === 1) {
        if (this.#pending.length < 16) return;
        size = Number(this.#pending.readBigUInt64BE(8));
        header = 16;
      }
      const type = this.#pending.toString('latin1', 4, 8);
      // A box that runs to the end of the file (size 0) or cannot be a box ends the walk.
      if (size < header || (type === 'moov' && size > MAX_MOOV_BYTES)) return void (this.#stopped = true);
      if (type === 'moov') {
        if (this.#pending.length < size) return;
        this.box = Buffer.from(this.#pending.subarray(0, size));
        this.#pending = Buffer.alloc(0);
        return;
      }
      this.#skip = size;
    }
  }
}

/** Where the video track ends, in seconds (the longest track's end without one); undefined when unreadable. */
export function pictureSeconds(moov: Buffer): number | undefined {
  try {
    const movie = readMovieRecord(moov);
    const video = movie.tracks.find((track) => track.handler === 'vide');
    const seconds = video ? video.mediaDuration / video.timescale : movie.duration / movie.timescale;
    return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
  } catch {
    return undefined;
  }
}
