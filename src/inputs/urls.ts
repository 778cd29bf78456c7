/** What the action checks of a URL before any request: the video's, the callback's, the API's own. */
import { policy } from '../policy.ts';

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
    return `points to a ${extension.toLowerCase()} file; Kling accepts only .mp4 and .mov videos (${policy.preflight.minSeconds}–${policy.preflight.maxSeconds} s, up to ${policy.preflight.maxBytes / 1e6} MB). Convert it first, e.g. ffmpeg -i input${extension.toLowerCase()} output.mp4.`;
  return undefined;
}

/** Why `raw` cannot be an http(s) URL the API may fetch, or undefined; `schemeHint` follows a wrong scheme. */
export function httpUrlProblem(raw: string, schemeHint = ''): string | undefined {
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
export function videoUrlProblem(raw: string): string | undefined {
  // Kling fetches the video itself: a file:// path is on the runner, where it cannot reach.
  return httpUrlProblem(raw, ' (upload local files somewhere first)') ?? notAnMp4OrMov(new URL(raw));
}
