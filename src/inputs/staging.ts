/** Where local files are staged: `staging_url`, `staging_endpoint` and `staging_region`. */
import { Inputs } from '../constants.ts';
import { parseEndpoint, parseS3Url, regionProblem, type Suggestion } from '../s3/location.ts';
import type { StagingSettings } from '../sources/stage.ts';
import type { InputReader } from './reader.ts';

export type { StagingSettings };

/** The staging settings, or undefined when `staging_url` is empty (files then fail before any task). */
export function readStaging(
  reader: InputReader,
  env: Readonly<Record<string, string | undefined>>,
  needed: boolean,
): StagingSettings | undefined {
  const url = reader.get(Inputs.StagingUrl);
  const endpointRaw = reader.get(Inputs.StagingEndpoint);
  const regionRaw = reader.get(Inputs.StagingRegion);
  if (!url) {
    if ((endpointRaw || regionRaw) && !needed)
      reader.problem(
        `${endpointRaw ? Inputs.StagingEndpoint : Inputs.StagingRegion} is set but ${Inputs.StagingUrl} is empty: give s3://bucket/prefix too.`,
      );
    return undefined;
  }
  const location = parseS3Url(url);
  if (!location.ok)
    return reader.problem(`${Inputs.StagingUrl} ${location.problem}${suggest(location.suggestion)}`);
  let endpoint: string | undefined;
  if (endpointRaw) {
    const parsed = parseEndpoint(endpointRaw);
    if (!parsed.ok) return reader.problem(`${Inputs.StagingEndpoint} ${parsed.problem}.`);
    endpoint = parsed.value;
  }
  const region = regionRaw || env['AWS_REGION']?.trim() || 'us-east-1';
  const problem = regionProblem(region, endpoint === undefined);
  if (problem) return reader.problem(`${Inputs.StagingRegion} (${region}): ${problem}.`);
  return { ...location.value, ...(endpoint ? { endpoint } : {}), region };
}

/** A store URL pasted in another form: the s3:// form to use instead, and the endpoint it needs. */
function suggest(suggestion: Suggestion | undefined): string {
  if (!suggestion) return '.';
  const endpoint = suggestion.endpoint ? ` with ${Inputs.StagingEndpoint}: ${suggestion.endpoint}` : '';
  return `; use ${Inputs.StagingUrl}: ${suggestion.url}${endpoint}.`;
}
