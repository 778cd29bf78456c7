import { describe, expect, it, vi } from 'vitest';
import {
  abandonOnAbort,
  CancelledError,
  formatBytes,
  Gate,
  limitTransientWarnings,
} from '../../src/runtime.ts';
import { recordingLog } from '../support/fakes.ts';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('Gate', () => {
  it('lets at most `limit` in, and serves waiters in order', async () => {
    const gate = new Gate(2);
    const order: number[] = [];
    const releases = await Promise.all([gate.acquire(), gate.acquire()]);
    const waiting = [3, 4].map((n) => gate.acquire().then((release) => (order.push(n), release)));
    await tick();
    expect(gate.inUse).toBe(2);
    expect(order).toEqual([]);
    releases[0]();
    await tick();
    expect(order).toEqual([3]);
    releases[1]();
    await tick();
    expect(order).toEqual([3, 4]);
    for (const release of await Promise.all(waiting)) release();
    expect(gate.inUse).toBe(0);
  });

  it('puts a `front` waiter before later ones, and a release counts once however often it is called', async () => {
    const gate = new Gate(1);
    const release = await gate.acquire();
    const order: string[] = [];
    const late = gate.acquire().then((r) => (order.push('late'), r));
    const front = gate.acquire(undefined, true).then((r) => (order.push('front'), r));
    release();
    release();
    await tick();
    expect(order).toEqual(['front']);
    expect(gate.inUse).toBe(1);
    (await front)();
    (await late)();
    expect(order).toEqual(['front', 'late']);
    expect(gate.inUse).toBe(0);
  });

  it('never lets a newcomer overtake a woken waiter', async () => {
    const gate = new Gate(1);
    const first = await gate.acquire();
    const waiter = gate.acquire();
    first();
    const newcomer = gate.acquire();
    await tick();
    expect(gate.inUse).toBe(1);
    (await waiter)();
    (await newcomer)();
    expect(gate.inUse).toBe(0);
  });

  it('rejects a waiter with the abort reason and forgets it', async () => {
    const gate = new Gate(1);
    const held = await gate.acquire();
    const controller = new AbortController();
    const waiting = gate.acquire(controller.signal).catch((e: unknown) => e);
    const reason = new CancelledError('SIGINT');
    controller.abort(reason);
    expect(await waiting).toBe(reason);
    held();
    expect(gate.inUse).toBe(0);
  });

  it('lowers its limit, never below one', () => {
    const gate = new Gate(4);
    gate.lower(2);
    expect(gate.limit).toBe(2);
    gate.lower(0);
    expect(gate.limit).toBe(1);
    gate.lower(3);
    expect(gate.limit).toBe(1);
  });
});

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

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [1024 * 1024, '1.0 MiB'],
  ])('%i → %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
