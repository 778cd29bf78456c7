/** Where each provider serves video-to-audio: Kling at /v1/..., CometAPI under /kling/v1/.... */
export type ProviderName = 'cometapi' | 'kling';

export interface Routes {
  create: string;
  task(idOrExternalId: string): string;
  /** The query-string form of an external-id look-up that some clients use. */
  taskByExternalIdQuery(externalTaskId: string): string;
  /** Newest tasks first; only Kling documents it (CometAPI does not). */
  recentTasks?: string;
}

export function routesFor(provider: ProviderName, baseUrl: string): Routes {
  const root = `${baseUrl.replace(/\/+$/, '')}${provider === 'cometapi' ? '/kling' : ''}/v1/audio/video-to-audio`;
  return {
    create: root,
    task: (id) => `${root}/${encodeURIComponent(id)}`,
    taskByExternalIdQuery: (id) => `${root}?external_task_id=${encodeURIComponent(id)}`,
    ...(provider === 'kling' ? { recentTasks: `${root}?pageNum=1&pageSize=500` } : {}),
  };
}
