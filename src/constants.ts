/** Input and output names, exactly as in action.yml; no other file of src/ spells them. */
export const Inputs = {
  VideoUrl: 'video_url',
  VideoId: 'video_id',
  VideoPath: 'video_path',
  TaskId: 'task_id',
  Provider: 'provider',
  ApiKey: 'api_key',
  AccessKey: 'access_key',
  SecretKey: 'secret_key',
  BaseUrl: 'base_url',
  SoundEffectPrompt: 'sound_effect_prompt',
  BgmPrompt: 'bgm_prompt',
  AsmrMode: 'asmr_mode',
  CallbackUrl: 'callback_url',
  ExternalTaskId: 'external_task_id',
  Wait: 'wait',
  TimeoutSeconds: 'timeout_seconds',
  PollIntervalSeconds: 'poll_interval_seconds',
  AudioFormat: 'audio_format',
  IncludeVideo: 'include_video',
  OutputDir: 'output_dir',
  UploadArtifact: 'upload_artifact',
  ArtifactName: 'artifact_name',
  RetentionDays: 'retention_days',
  Videos: 'videos',
  MaxConcurrency: 'max_concurrency',
  GithubToken: 'github_token',
  PrComment: 'pr_comment',
  ReleaseTag: 'release_tag',
  Archive: 'archive',
  Overwrite: 'overwrite',
  Preflight: 'preflight',
  Cache: 'cache',
  StagingUrl: 'staging_url',
  StagingEndpoint: 'staging_endpoint',
  StagingRegion: 'staging_region',
  Mux: 'mux',
} as const;

export const Outputs = {
  TaskId: 'task_id',
  ExternalTaskId: 'external_task_id',
  TaskStatus: 'task_status',
  AudioUrl: 'audio_url',
  AudioPath: 'audio_path',
  VideoUrl: 'video_url',
  VideoPath: 'video_path',
  Files: 'files',
  Duration: 'duration',
  ArtifactId: 'artifact_id',
  ArtifactUrl: 'artifact_url',
  ArtifactDigest: 'artifact_digest',
  Results: 'results',
  CommentUrl: 'comment_url',
  ReleaseAssetUrls: 'release_asset_urls',
  CacheHit: 'cache_hit',
  MuxedPath: 'muxed_path',
} as const;

export type OutputName = (typeof Outputs)[keyof typeof Outputs];

/** Saved with core.saveState so a post step or a later reader can find the task. */
export const State = {
  TaskId: 'task_id',
  ExternalTaskId: 'external_task_id',
  /** Set by the main step: the runner then runs the same entry as the post step. */
  IsPost: 'is_post',
  /** Objects staged and not yet deleted (JSON), for the post step to delete. */
  Staged: 'staged_objects',
} as const;

export const DEFAULT_BASE_URLS = {
  cometapi: 'https://api.cometapi.com',
  kling: 'https://api-singapore.klingai.com',
} as const;
