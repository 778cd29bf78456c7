import { describe, expect, it, vi } from 'vitest';
import { abandonOnAbort, CancelledError, limitTransientWarnings } from '../../src/runtime.ts';
import { recordingLog } from './fakes.ts';

describe('abandonOnAbort', () => {
  it('settles as the work does while the signal stays quiet', async () => {
    const controller = new AbortController();
    await expect(abandonOnAbort(Promise.resolve(7), controller.signal)).resolves.toBe(7);
    await expect(
      abandonOnAbort(Promise.reject(new Error('upload failed')), controller.signal),
    ).rejects.toThrow('upload failed');
  });

  it('rejects with the abort reason as soon as the signal aborts, and swallows the late failure', async () => {
    const controller = new AbortController();
    let fail: (error: Error) => void = () => {};
    const work = new Promise<number>((_, reject) => (fail = reject));
    const reason = new CancelledError('SIGINT');
    const result = abandonOnAbort(work, controller.signal);
    controller.abort(reason);
    await expect(result).rejects.toBe(reason);
    // Would be an unhandled rejection (and crash the step) if nobody listened.
    fail(new Error('late'));
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('rejects at once when the signal has already aborted', async () => {
    const controller = new AbortController();
    const reason = new CancelledError('SIGTERM');
    controller.abort(reason);
    await expect(abandonOnAbort(new Promise(() => {}), controller.signal)).rejects.toBe(reason);
  });

  it('leaves no abort listener behind once the work has settled', async () => {
    const { signal } = new AbortController();
    const add = vi.spyOn(signal, 'addEventListener');
    const remove = vi.spyOn(signal, 'removeEventListener');
    await abandonOnAbort(Promise.resolve('done'), signal);
    expect(add).toHaveBeenCalledTimes(1);
    expect(remove).toHaveBeenCalledWith('abort', add.mock.calls[0]![1]);
  });
});

describe('limitTransientWarnings', () => {
  it('lets retry notices use only their budget of annotations; other warnings always get one', () => {
    const log = recordingLog();
    const limited = limitTransientWarnings(log, 3);
    for (let n = 1; n <= 5; n++) limited.warning(`retry ${n}`, { transient: true });
    limited.warning('files kept, upload skipped');
    limited.info('progress');
    limited.debug('detail');

    expect(log.at('warning')).toEqual([
      'retry 1',
      'retry 2',
      'retry 3 (Further retry notices appear in the log only, not as annotations.)',
      'files kept, upload skipped',
    ]);
    expect(log.at('info')).toEqual(['Retrying: retry 4', 'Retrying: retry 5', 'progress']);
    expect(log.at('debug')).toEqual(['detail']);
  });
});
