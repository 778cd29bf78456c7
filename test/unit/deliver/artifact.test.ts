import { describe, expect, it } from 'vitest';
import {
  ArtifactsUnsupportedError,
  ArtifactUploadError,
  uploadResults,
  type ArtifactStore,
  type UploadRequest,
} from '../../../src/deliver/artifact.ts';
import { recordingLog } from '../../support/fakes.ts';

type Call =
  | { op: 'upload'; name: string; files: string[]; root: string; options?: { retentionDays?: number } }
  | { op: 'delete'; name: string };

/** An artifact store that answers uploads from a script: an Error is thrown, anything else returned. */
function store(uploads: (Error | { id?: number; size?: number; digest?: string })[]) {
  const calls: Call[] = [];
  const s: ArtifactStore = {
    uploadArtifact(name, files, root, options) {
      calls.push({ op: 'upload', name, files, root, options });
      const next = uploads.shift();
      if (!next) throw new Error('unexpected upload');
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    deleteArtifact(name) {
      calls.push({ op: 'delete', name });
      return Promise.resolve({ id: 1 });
    },
  };
  return { store: s, calls };
}

const FILES = ['/ws/kling-audio/t1.mp3', '/ws/kling-audio/t1.wav'];

function request(s: ArtifactStore, overrides: Partial<UploadRequest> = {}): UploadRequest {
  return {
    store: s,
    name: 'kling-audio-t1',
    files: FILES,
    rootDirectory: '/ws/kling-audio',
    compressionLevel: 0,
    skipArchive: false,
    overwrite: false,
    replaceOnConflict: true,
    log: recordingLog(),
    urlFor: (id) => `https://github.com/o/r/actions/runs/42/artifacts/${id}`,
    ...overrides,
  };
}

const conflict = () =>
  new Error(
    'Failed to CreateArtifact: Received non-retryable error: Failed request: (409) Conflict: an artifact with this name already exists on the workflow run',
  );

describe('uploadResults', () => {
  it("never replaces a chosen name on conflict: it may be another job's artifact", async () => {
    const { store: s, calls } = store([conflict()]);
    const error: unknown = await uploadResults(
      request(s, { name: 'soundtrack', replaceOnConflict: false }),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof ArtifactUploadError)) throw new Error('expected an ArtifactUploadError');
    expect(error.message).toContain('an artifact named "soundtrack" already exists in this run');
    expect(error.message).toContain('github.run_attempt');
    expect(error.message).toContain(
      "If it is this job's, from an earlier attempt, set overwrite: true to replace it",
    );
    expect(error.message).toContain(FILES[0]);
    expect(calls.map((c) => c.op)).toEqual(['upload']);
  });

  it('uploads the files and returns id, size, digest and the url built by urlFor', async () => {
    const { store: s, calls } = store([{ id: 77, size: 1234, digest: 'sha256:abc' }]);
    const uploaded = await uploadResults(request(s));
    expect(uploaded).toEqual({
      name: 'kling-audio-t1',
      id: 77,
      size: 1234,
      digest: 'sha256:abc',
      url: 'https://github.com/o/r/actions/runs/42/artifacts/77',
      replaced: false,
    });
    expect(calls).toEqual([
      {
        op: 'upload',
        name: 'kling-audio-t1',
        files: FILES,
        root: '/ws/kling-audio',
        options: { compressionLevel: 0 },
      },
    ]);
  });

  it('passes retention_days when given', async () => {
    const { store: s, calls } = store([{ id: 1 }]);
    await uploadResults(request(s, { retentionDays: 7 }));
    expect(calls[0]).toMatchObject({ op: 'upload', options: { retentionDays: 7 } });
  });

  it('replaces an artifact of the same name from an earlier attempt: delete, then upload again', async () => {
    const { store: s, calls } = store([conflict(), { id: 88, digest: 'sha256:def' }]);
    const log = recordingLog();
    const uploaded = await uploadResults(request(s, { log }));
    expect(uploaded).toMatchObject({
      id: 88,
      replaced: true,
      url: expect.stringMatching(/\/artifacts\/88$/),
    });
    expect(calls.map((c) => c.op)).toEqual(['upload', 'delete', 'upload']);
    expect(calls[1]).toEqual({ op: 'delete', name: 'kling-audio-t1' });
    expect(log.at('info')[0]).toMatch(/exists from an earlier attempt of this run; replacing it/);
  });

  it('wraps any other failure in ArtifactUploadError that lists the local files', async () => {
    const { store: s, calls } = store([new Error('Unable to upload: network is down')]);
    const error = await uploadResults(request(s)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactUploadError);
    const message = (error as Error).message;
    expect(message).toContain(
      'Uploading artifact "kling-audio-t1" failed: Unable to upload: network is down',
    );
    for (const f of FILES) expect(message).toContain(f);
    expect(calls.map((c) => c.op)).toEqual(['upload']);
  });

  it('wraps a failure of the second upload after a conflict', async () => {
    const { store: s, calls } = store([conflict(), new Error('quota exceeded')]);
    const error = await uploadResults(request(s)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactUploadError);
    expect((error as Error).message).toContain('quota exceeded');
    expect(calls.map((c) => c.op)).toEqual(['upload', 'delete', 'upload']);
  });

  it('turns GHESNotSupportedError into ArtifactsUnsupportedError naming where the files are', async () => {
    const ghes = Object.assign(new Error('@actions/artifact v2.0.0+ is not supported on GHES'), {
      name: 'GHESNotSupportedError',
    });
    const { store: s } = store([ghes]);
    const error = await uploadResults(request(s)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactsUnsupportedError);
    expect((error as Error).message).toContain('/ws/kling-audio');
    expect((error as Error).cause).toBe(ghes);
  });

  it('fails clearly when the service returns no artifact id', async () => {
    const { store: s } = store([{ size: 10 }]);
    await expect(uploadResults(request(s))).rejects.toThrow(/the service returned no artifact id/);
  });
});
