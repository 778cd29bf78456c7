/**
 * Mediabunny (pure TypeScript, MPL-2.0): reads and writes MP4/MOV, streams from and to files and
 * copies packets without decoding. Loaded on first use, so steps that never read a video never load
 * it; its console logging is turned off, since a hostile file's box names would reach the step's log.
 */
import type * as MediabunnyModule from 'mediabunny';

export type Mediabunny = typeof MediabunnyModule;

let loading: Promise<Mediabunny> | undefined;

export function loadMediabunny(): Promise<Mediabunny> {
  loading ??= import('mediabunny').then((library) => {
    library.Logging.level = library.LogLevel.Silent;
    return library;
  });
  return loading;
}
