/**
 * Every tuning value of the action: timeouts, caps, attempt counts and schedules. Nothing else
 * hard-codes one; the step passes them down, so tests can pass smaller ones.
 */
export const policy = {
  /** What the inputs may ask for; the error messages quote these. */
  inputs: {
    /** Six hours: the longest a job may run on GitHub-hosted runners. */
    maxTimeoutSeconds: 6 * 60 * 60,
    maxPollIntervalSeconds: 300,
    /** Kling plans allow a handful of tasks at once; more in flight would only meet 1303. */
    maxConcurrency: 50,
    /** Each task is paid for: a list longer than this is more likely a mistake than a plan. */
    maxVideos: 200,
    /** A `videos` entry's name: one line of at most this many characters. */
    maxNameCharacters: 100,
    /** Kling's limit on sound_effect_prompt and bgm_prompt. */
    maxPromptCharacters: 200,
    /** GitHub's longest retention (private repositories); public ones stop at 90. */
    maxRetentionDays: 400,
  },
  request: {
    /** One API request, headers and body together (also capped by the step's deadline). */
    timeoutMs: 30_000,
    /** An API answer larger than this is refused: task answers are a few KiB. */
    maxAnswerBytes: 4 * 1024 * 1024,
  },
  retry: {
    /** Kling asks for at least 1 s before retrying a rate or concurrency limit. */
    schedule: { minMs: 1_000, baseMs: 1_000, capMs: 20_000, retryAfterCapMs: 60_000 },
    /**
     * Creates refused for a passing reason (rate limit, 5xx with no task made) are sent this often at
     * most. Not 1303 (account full): the pool waits that out until the deadline.
     */
    createAttempts: 5,
    /** Look-up answers that are not the API's JSON: past this, the route is wrong, not blipping. */
    lookupMalformedAttempts: 3,
    /** Answers about another task than the one asked for: past this, the entry fails rather than adopt it. */
    otherTaskAttempts: 3,
    /** Before the API has answered once, an unresolvable or refusing host is given this long. */
    unreachableWithinMs: 5_000,
    /** Of the 10 warning annotations the runner shows per step, retry notices may use this many. */
    transientWarningAnnotations: 5,
  },
  poll: {
    /** Each interval is 10 % of the time the task has run, so a task is noticed within max(poll, 10 % of T). */
    proportion: 0.1,
    capMs: 30_000,
    /** Intervals are shortened by up to this fraction, so matrix legs do not poll in lock-step. */
    jitter: 0.1,
    /** Least time between two "still processing" lines. */
    heartbeatMs: 30_000,
    /** The last poll goes out this long before the deadline, so it has time to be answered. */
    lastLookMs: 2_000,
  },
  download: {
    maxBytes: 512 * 1024 * 1024,
    attempts: 4,
    /** One attempt, headers and body together (also capped by the step's deadline). */
    attemptTimeoutMs: 10 * 60_000,
    /** No byte for this long: the attempt is abandoned and retried. */
    stallMs: 30_000,
    maxRedirects: 5,
  },
  preflight: {
    /** Kling's "100MB", read as decimal so nothing Kling might refuse gets through. */
    maxBytes: 100 * 1000 * 1000,
    minSeconds: 3,
    maxSeconds: 20,
    /** Read from the start of the file, and asked for at once when looking for a box further on. */
    headBytes: 64 * 1024,
    maxMoovBytes: 16 * 1024 * 1024,
    /** From a host that ignores Range: the most read before the check gives up (and the create goes ahead). */
    maxReadBytes: 32 * 1024 * 1024,
    /** Box headers looked up past the head on the way to moov, one ranged request each. */
    maxJumps: 8,
    requestTimeoutMs: 15_000,
    /** The whole check of one source (also capped by the step's deadline). */
    checkTimeoutMs: 45_000,
    maxRedirects: 5,
    /** Sources checked at once: every check comes before any create, so they run side by side. */
    concurrency: 8,
  },
  mux: {
    /**
     * The generated audio may end this long after the picture (whole codec frames, an encoder's
     * rounding) and is cut there; longer, it was made for another video, and the mux is refused.
     */
    maxAudioOverrunSeconds: 0.5,
    /** A source with more top-level boxes than this is refused before it is read (a hostile file). */
    maxTopLevelBoxes: 4096,
    /**
     * The reader holds a file's moov whole: a larger one (a source, or a hostile result video) is
     * refused before it is read. A 20 s video's index is tens of KiB.
     */
    maxMoovBytes: 16 * 1024 * 1024,
    /**
     * Packets of one track: 20 s at 1,000 frames a second is 20,000. A few bytes of sample table can
     * declare billions, whose walk would hold the step past its deadline and its cancellation.
     */
    maxTrackPackets: 100_000,
    /**
     * Bytes of the source the reader keeps in memory: small, since every packet is read once, in
     * order (larger caches only add copying: 2 MiB was the fastest for a 95 MB source).
     */
    readCacheBytes: 2 * 1024 * 1024,
  },
  cache: {
    /** A cache restore or save given up after this long: a warning, never a held step. */
    timeoutMs: 60_000,
    /** Restores at once: every entry is looked up before the tasks start. */
    concurrency: 4,
  },
  staging: {
    /** One HEAD or DELETE to the store (also capped by the step's deadline). */
    requestTimeoutMs: 30_000,
    /** One upload attempt, body included: 100 MB at a slow 1 MB/s fits well inside. */
    uploadTimeoutMs: 10 * 60_000,
    /** S3 error bodies are a few hundred bytes. */
    maxAnswerBytes: 64 * 1024,
    /** Tries while the store asks to slow down (SlowDown, 503), each after a backoff. */
    busyAttempts: 8,
    /** Tries after a server error or a network failure. */
    failureAttempts: 4,
    /** S3 refuses presigned URLs that last longer than 7 days. */
    maxPresignSeconds: 7 * 24 * 3600,
    /** Credentials that expire sooner than this are refused: a presigned URL dies with them, before the API fetches it. */
    minCredentialsLeftMs: 5 * 60_000,
    /** The presigned URL outlives the step's deadline by this much: the API may fetch late in a queue. */
    presignMarginMs: 30 * 60_000,
    /** Files hashed at once while the inputs are read (each is read whole). */
    hashConcurrency: 4,
    /** Files uploaded at once: staging runs ahead of the tasks, so the next file is there when a place frees. */
    uploadConcurrency: 2,
    /** A delete is cleanup: it gets this long even when the step's deadline is nearer or passed (a task timed out). */
    deleteGraceMs: 60_000,
    /** The post step's deletes, all together, are given up after this long. */
    postStepTimeoutMs: 60_000,
    /** Read from the file at a time while uploading (bench: 64 KiB beat 256 KiB and 1 MiB in speed and RSS). */
    readChunkBytes: 64 * 1024,
  },
  pool: {
    /** After a 1303, the step takes back a place when one of its tasks finishes and none came for this long. */
    raiseAfterQuietMs: 30_000,
  },
  github: {
    /** Attempts for a GitHub call that failed for a passing reason (5xx, network). */
    attempts: 3,
    /** A rate limit that asks for a longer wait than this is not waited out: deliveries give up. */
    maxRateLimitWaitMs: 60_000,
    perPage: 100,
    /** Pages of comments, releases or assets read at most (a hostile `Link: next` never ends). */
    maxPages: 30,
  },
  report: {
    /** GitHub refuses a comment body longer than this many characters (HTTP 422). */
    commentMaxChars: 65_536,
    /** GitHub shows no job summary over 1 MiB for a step; this leaves some room. */
    summaryMaxBytes: 1_000_000,
  },
  artifact: {
    /** Audio and video are compressed already: zipping them again only costs time. */
    compressionLevel: 0,
  },
  submit: {
    /** How many failed earlier tasks of a derived external id a re-run may supersede. */
    maxSuperseded: 5,
  },
  jwt: {
    ttlSeconds: 1800,
    /** Re-sign when less than this remains, so a token never expires in flight. */
    refreshMarginSeconds: 300,
    /** nbf lies this far in the past, as in Kling's example, for small clock differences. */
    notBeforeSkewSeconds: 5,
  },
  cancel: {
    /** The runner sends SIGINT, then SIGTERM 7.5 s later, then kills: finish well inside that. */
    exitWithinMs: 5_000,
  },
} as const;
