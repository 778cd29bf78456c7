/**
 * The release delivery (`release_tag`): the step's files as assets of the release, under names that
 * stay the same from run to run. A missing or immutable release, or a refusal, fails the step.
 */
import { Inputs } from '../constants.ts';
import { describeSource, type Entry } from '../sources/source.ts';
import type { TaskOutcome } from '../task/task.ts';
import type { Delivery } from './delivery.ts';
import { githubCalls, octokitFor, type GithubRun } from './github.ts';
import {
  ReleaseAssetNotOursError,
  ReleaseImmutableError,
  ReleaseNotAllowedError,
  ReleaseNotFoundError,
  uploadReleaseAssets,
  type AssetFile,
} from './release-assets.ts';

export interface ReleaseSettings {
  releaseTag?: string;
  githubToken: string;
  entries: readonly Entry[];
  outputDir: string;
  uploadArtifact: boolean;
}

export function releaseDelivery(settings: ReleaseSettings, github: GithubRun): Delivery {
  return {
    tells: false,
    async deliver(context) {
      const tag = settings.releaseTag;
      if (!tag || context.files.length === 0) return undefined;
      const files = assetFiles(context.outcomes, settings.entries);
      try {
        const urls = await uploadReleaseAssets(
          await octokitFor(settings.githubToken, github.apiUrl, context),
          { owner: github.owner, repo: github.repo, tag },
          files,
          githubCalls(context, github.apiUrl),
        );
        context.report.releaseAssets(urls);
        context.log.info(`Uploaded ${urls.length} asset${urls.length === 1 ? '' : 's'} to release ${tag}.`);
        return undefined;
      } catch (error) {
        return { kind: 'failed', message: `${Inputs.ReleaseTag} ${tag}: ${explain(error, settings)}` };
      }
    },
  };
}

/** What went wrong and what to do, and where the files are meanwhile. */
function explain(error: unknown, settings: ReleaseSettings): string {
  const kept = ` The files stay in ${settings.outputDir}${settings.uploadArtifact ? ' and in the artifact' : ''}.`;
  if (error instanceof ReleaseNotFoundError) return `${error.message} The action never creates one.${kept}`;
  if (error instanceof ReleaseImmutableError)
    return `${error.message} Upload while the release is a draft (create it as a draft, run this step, then publish).${kept}`;
  if (error instanceof ReleaseAssetNotOursError)
    return `${error.message}. Rename or remove that asset on the release page (or point ${Inputs.ReleaseTag} at another release), then re-run.${kept}`;
  if (error instanceof ReleaseNotAllowedError)
    return `${error.message} ${Inputs.GithubToken} needs \`contents: write\` (set it under permissions:).${kept}`;
  return `${error instanceof Error ? error.message : String(error)}.${kept}`;
}

const CONTENT_TYPES = {
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
} as const;

/**
 * Asset names from the entry, never the task id, so a later run replaces them instead of adding more:
 * `<stem>.mp3`, Kling's video as `<stem>-with-sound.mp4`, the muxed source as `<stem>.mp4` or `.mov`.
 */
export function assetFiles(outcomes: readonly TaskOutcome[], entries: readonly Entry[]): AssetFile[] {
  const used = new Set<string>();
  return outcomes.flatMap((outcome, i) => {
    const named = (stem: string) =>
      outcome.files.map((file) => ({
        path: file.path,
        name: file.role === 'video' ? `${stem}-with-sound.mp4` : `${stem}.${file.kind}`,
        contentType: CONTENT_TYPES[file.kind],
      }));
    const stem = describeSource(entries[i]!.source).assetStem;
    // Another entry's stem, or a name another entry's files took (`x-with-sound.mp4` is entry x's video).
    let assets = named(stem);
    if (used.has(stem) || assets.some((asset) => used.has(asset.name))) assets = named(`${stem}-${i + 1}`);
    used.add(stem);
    for (const asset of assets) used.add(asset.name);
    return assets;
  });
}
