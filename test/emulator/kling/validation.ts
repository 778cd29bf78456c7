/** Create-body checks (reference §2.1). Each problem is reported the way Kling does: 400 code 1201 naming the field. */

export const PROMPT_MAX_CHARACTERS = 200;

export type CreateBody = Record<string, unknown>;

/** The first problem with a create body, or undefined when the task can be created. Unknown fields are ignored. */
export function createBodyProblem(body: CreateBody): string | undefined {
  return (
    videoSourceProblem(body) ??
    promptProblem(body, 'sound_effect_prompt') ??
    promptProblem(body, 'bgm_prompt') ??
    typeProblem(body, 'asmr_mode', 'boolean') ??
    typeProblem(body, 'external_task_id', 'string') ??
    typeProblem(body, 'callback_url', 'string')
  );
}

export function isObject(value: unknown): value is CreateBody {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function videoSourceProblem(body: CreateBody): string | undefined {
  const problem = typeProblem(body, 'video_id', 'string') ?? typeProblem(body, 'video_url', 'string');
  if (problem) return problem;
  const hasId = isGiven(body['video_id']);
  const hasUrl = isGiven(body['video_url']);
  if (hasId === hasUrl) return 'video_id and video_url: exactly one must be given (not both, not neither)';
  if (hasUrl && !isHttpUrl(body['video_url'] as string)) return 'video_url must be an http or https URL';
  return undefined;
}

function promptProblem(body: CreateBody, field: string): string | undefined {
  const problem = typeProblem(body, field, 'string');
  if (problem) return problem;
  const prompt = body[field];
  // Characters, not UTF-16 units, so one emoji counts once.
  if (typeof prompt === 'string' && [...prompt].length > PROMPT_MAX_CHARACTERS) {
    return `${field} must be at most ${PROMPT_MAX_CHARACTERS} characters`;
  }
  return undefined;
}

function typeProblem(body: CreateBody, field: string, type: 'string' | 'boolean'): string | undefined {
  const value = body[field];
  if (value === undefined || value === null || typeof value === type) return undefined;
  return `${field} must be a ${type}`;
}

/** Kling reads an empty string as "not given" ("cannot both be empty"). */
function isGiven(value: unknown): boolean {
  return typeof value === 'string' && value !== '';
}

function isHttpUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}
