/**
 * Source videos on 127.0.0.1, served as a CDN serves them (HEAD, byte ranges, a strong ETag), for the
 * preflight and the mux to read: `/<name>-<seconds>s.mp4` is a real MP4 of that many seconds (1-60),
 * its picture and sound seeded by the name; `video()` with a spec serves MOVs, silent or soundless
 * videos, moov at the end, fragmented or audio-only files under the URL it returns. Anything else is 404.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { writeMovie } from '../support/mp4.ts';
import { closeServer, listen } from './loopback-server.ts';
import { buildMp4, videoMovie, type VideoSpec } from './media.ts';

/** A video to serve: `VideoSpec` (MOV, sound, layout), or a file the muxer must refuse. */
export interface HostedVideo extends Omit<VideoSpec, 'seconds'> {
  /** `fragmented`: moof boxes, as live recorders write; `audio-only`: no video track. */
  form?: 'fragmented' | 'audio-only';
}

const VIDEO_PATH = /^\/([\w-]+)-(\d{1,2})s\.(mp4|mov)$/;

export class VideoHost {
  /** 'http://127.0.0.1:PORT', no trailing slash. */
  readonly url: string;
  /** Every request, in arrival order. */
  readonly requests: { method: string; path: string; status: number }[] = [];
  readonly #server: Server;
  readonly #videos = new Map<string, Buffer>();
  readonly #specs = new Map<string, VideoSpec & HostedVideo>();

  private constructor(server: Server, url: string) {
    this.#server = server;
    this.url = url;
    server.on('request', (request, response) => {
      const path = new URL(request.url ?? '/', this.url).pathname;
      const match = VIDEO_PATH.exec(path);
      const seconds = Number(match?.[2]);
      const video = match && seconds >= 1 && seconds <= 60 ? this.#video(path, seconds) : undefined;
      const type = path.endsWith('.mov') ? 'video/quicktime' : 'video/mp4';
      const record = { method: request.method ?? 'GET', path, status: 404 };
      this.requests.push(record);
      if (!video || (request.method !== 'GET' && request.method !== 'HEAD')) {
        response.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found');
        return;
      }
      const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
      const from = range ? Math.min(Number(range[1]), video.length - 1) : 0;
      const to = range?.[2] ? Math.min(Number(range[2]), video.length - 1) : video.length - 1;
      const headers = {
        'Content-Type': type,
        'Accept-Ranges': 'bytes',
        ETag: `"${match![1]}-${seconds}"`,
        'Content-Length': to - from + 1,
      };
      record.status = range ? 206 : 200;
      if (range)
        response.writeHead(206, { ...headers, 'Content-Range': `bytes ${from}-${to}/${video.length}` });
      else response.writeHead(200, headers);
      response.end(request.method === 'HEAD' ? undefined : video.subarray(from, to + 1));
    });
  }

  static async start(): Promise<VideoHost> {
    const server = createServer();
    return new VideoHost(server, await listen(server));
  }

  /**
   * The URL of a real video this host serves: by default an MP4 whose sound is the emulator's loop
   * (as Kling's own result video); with `spec`, as that says (a MOV gets a .mov URL).
   */
  video(name: string, seconds: number, spec?: HostedVideo): string {
    const path = `/${name}-${seconds}s.${spec?.brand === 'qt  ' ? 'mov' : 'mp4'}`;
    if (spec) this.#specs.set(path, { ...spec, seconds, title: spec.title ?? `Source video ${name}` });
    return `${this.url}${path}`;
  }

  /** The bytes served at `url`. */
  bytes(url: string): Buffer {
    const path = new URL(url).pathname;
    const seconds = Number(VIDEO_PATH.exec(path)?.[2]);
    return this.#video(path, seconds);
  }

  #video(path: string, seconds: number): Buffer {
    let video = this.#videos.get(path);
    if (!video) {
      const spec = this.#specs.get(path);
      video = spec ? hosted(spec) : buildMp4(path, seconds);
      this.#videos.set(path, video);
    }
    return video;
  }

  async close(): Promise<void> {
    await closeServer(this.#server);
  }
}

function hosted(spec: VideoSpec & HostedVideo): Buffer {
  const movie = videoMovie(spec);
  if (spec.form === 'fragmented') return writeMovie({ ...movie, fragmented: true }).bytes;
  if (spec.form === 'audio-only') return writeMovie({ ...movie, tracks: movie.tracks.slice(1) }).bytes;
  return writeMovie(movie).bytes;
}
