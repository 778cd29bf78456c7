import { describe, expect, it } from 'vitest';
import { runPool, type Attempt, type PoolContext } from '../../../src/step/pool.ts';
import { CancelledError, Gate } from '../../../src/runtime.ts';
import { fakeRetryContext } from '../../support/fakes.ts';

/** A promise and the function that resolves it, so a test decides when each task "finishes". */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

function poolContext(
  overrides: { signal?: AbortSignal } = {},
): PoolContext & ReturnType<typeof fakeRetryContext> {
  const context = fakeRetryContext();
  return {
    ...context,
    signal: new AbortController().signal,
    deadlineMs: context.clock.now() + 3_600_000,
    raiseAfterQuietMs: 30_000,
    ...overrides,
  };
}

describe('runPool', () => {
  it('keeps at most max_concurrency in flight, starts entries in input order, and returns results in input order', async () => {
    const finish = Array.from({ length: 5 }, () => deferred());
    const started: number[] = [];
    let running = 0;
    let peak = 0;
    const result = runPool(
      {
        count: 5,
        slots: new Gate(2),
        attempt: async (i): Promise<Attempt<string>> => {
          started.push(i);
          peak = Math.max(peak, ++running);
          await finish[i]!.promise;
          running--;
          return { accountFull: false, result: `r${i}` };
        },
        notStarted: (i) => `not started ${i}`,
      },
      poolContext(),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    // Finishing out of order still frees a place for the next entry in line.
    finish[1]!.resolve();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    for (const f of finish) f.resolve();
    expect(await result).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    expect(peak).toBe(2);
  });

  it('frees a place as soon as the entry releases it (its task is final), before the entry ends', async () => {
    const downloading = deferred();
    const started: number[] = [];
    const result = runPool(
      {
        count: 2,
        slots: new Gate(1),
        attempt: async (i, place) => {
          started.push(i);
          place.taskStarted();
          if (i === 0) {
            place.release();
            await downloading.promise;
          }
          return { accountFull: false, result: i };
        },
        notStarted: () => -1,
      },
      poolContext(),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    downloading.resolve();
    expect(await result).toEqual([0, 1]);
  });

  it('a failed entry never stops the others', async () => {
    const result = await runPool(
      {
        count: 3,
        slots: new Gate(1),
        attempt: (i) => Promise.resolve({ accountFull: false, result: i === 1 ? 'failed' : 'ok' }),
        notStarted: () => 'not started',
      },
      poolContext(),
    );
    expect(result).toEqual(['ok', 'failed', 'ok']);
  });

  it('on 1303 while its own tasks run: lowers the limit to them and retries the entry when one finishes, without sleeping', async () => {
    const context = poolContext();
    const slots = new Gate(3);
    const finish = [deferred(), deferred()];
    const tries = [0, 0, 0];
    const result = runPool(
      {
        count: 3,
        slots,
        attempt: async (i, place) => {
          tries[i]!++;
          if (i < 2) {
            place.taskStarted();
            await finish[i]!.promise;
            return { accountFull: false, result: `done ${i}` };
          }
          // The account holds two tasks: the third is refused until one of ours ends.
          return tries[2]! === 1
            ? { accountFull: true, result: '1303' }
            : { accountFull: false, result: 'done 2' };
        },
        notStarted: () => 'not started',
      },
      context,
    );
    await tick();
    await tick();
    expect(slots.limit).toBe(2);
    expect(tries).toEqual([1, 1, 1]);
    finish[0]!.resolve();
    await tick();
    await tick();
    expect(tries[2]).toBe(2);
    finish[1]!.resolve();
    expect(await result).toEqual(['done 0', 'done 1', 'done 2']);
    expect(context.sleep.delays).toEqual([]);
    expect(context.log.at('info').join('\n')).toMatch(/code 1303.*now keeps 2 in flight/);
  });

  it('on 1303 that overtakes the answers to its own creates: waits for those answers, then for its own tasks, without backing off', async () => {
    const context = poolContext();
    const slots = new Gate(4);
    // Four creates go out together; the account holds two. The refusals of 2 and 3 come back
    // before the answers that created the tasks of 0 and 1.
    const answered = [deferred(), deferred()];
    const finish = [deferred(), deferred()];
    const tries = [0, 0, 0, 0];
    const result = runPool(
      {
        count: 4,
        slots,
        attempt: async (i, place) => {
          tries[i]!++;
          place.creating();
          if (i < 2) {
            await answered[i]!.promise;
            place.taskStarted();
            await finish[i]!.promise;
            place.release();
            return { accountFull: false, result: `done ${i}` };
          }
          return tries[i] === 1
            ? { accountFull: true, result: '1303' }
            : { accountFull: false, result: `done ${i}` };
        },
        notStarted: () => 'not started',
      },
      context,
    );
    await tick();
    await tick();
    // Refused, but which tasks are this step's is not known yet: nobody lowers, sleeps or retries.
    expect(tries).toEqual([1, 1, 1, 1]);
    expect(slots.limit).toBe(4);
    answered[0]!.resolve();
    answered[1]!.resolve();
    await tick();
    await tick();
    expect(slots.limit).toBe(2);
    expect(tries).toEqual([1, 1, 1, 1]);
    finish[0]!.resolve();
    await tick();
    await tick();
    expect(tries[2]).toBe(2);
    finish[1]!.resolve();
    expect(await result).toEqual(['done 0', 'done 1', 'done 2', 'done 3']);
    // No entry took the account for someone else's and slept.
    expect(context.sleep.delays).toEqual([]);
    expect(context.log.lines.filter((l) => l.transient)).toEqual([]);
  });

  it("on 1303 for every create sent together (the account full of others' tasks): each backs off and retries, none waits for another's task", async () => {
    const context = poolContext();
    const freeAtMs = context.clock.now() + 5_000;
    const finish = deferred();
    const tries = [0, 0, 0, 0];
    const result = runPool(
      {
        count: 4,
        slots: new Gate(4),
        attempt: async (i, place) => {
          tries[i]!++;
          place.creating();
          await tick();
          if (context.clock.now() < freeAtMs) return { accountFull: true, result: 'refused' };
          place.taskStarted();
          await finish.promise;
          place.release();
          return { accountFull: false, result: `done ${i}` };
        },
        notStarted: () => 'not started',
      },
      context,
    );
    for (let i = 0; i < 100 && tries.some((n) => n < 2); i++) await tick();
    // Each refused entry tried again by itself: none gave up its place to wait behind a task of
    // this step that did not exist.
    expect(tries.every((n) => n >= 2)).toBe(true);
    finish.resolve();
    expect(await result).toEqual(['done 0', 'done 1', 'done 2', 'done 3']);
  });

  it('a refusal sent before one of its own tasks finished is out of date: retries after a backoff, keeping the limit and not waiting for the others', async () => {
    const context = poolContext();
    const slots = new Gate(3);
    const finish = [deferred(), deferred()];
    const refuse = deferred();
    let tries = 0;
    const result = runPool(
      {
        count: 3,
        slots,
        attempt: async (i, place) => {
          place.creating();
          if (i < 2) {
            place.taskStarted();
            await finish[i]!.promise;
            place.release();
            return { accountFull: false, result: `done ${i}` };
          }
          if (++tries === 1) {
            await refuse.promise;
            return { accountFull: true, result: '1303' };
          }
          place.taskStarted();
          place.release();
          return { accountFull: false, result: 'done 2' };
        },
        notStarted: () => 'not started',
      },
      context,
    );
    await tick();
    // Entry 2's create is out; entry 0's task finishes; then the refusal (counted when 0 still ran).
    finish[0]!.resolve();
    await tick();
    refuse.resolve();
    for (let i = 0; i < 20 && tries < 2; i++) await tick();
    expect(tries).toBe(2);
    expect(slots.limit).toBe(3);
    expect(context.sleep.delays).toHaveLength(1);
    finish[1]!.resolve();
    expect(await result).toEqual(['done 0', 'done 1', 'done 2']);
  });

  it('on 1303 with none of its own running: backs off (honouring Retry-After), then tries again', async () => {
    const context = poolContext();
    let tries = 0;
    const result = await runPool(
      {
        count: 1,
        slots: new Gate(2),
        attempt: () =>
          Promise.resolve(
            ++tries < 3
              ? { accountFull: true, retryAfterMs: tries === 1 ? 7_000 : undefined, result: '1303' }
              : { accountFull: false, result: 'ok' },
          ),
        notStarted: () => 'not started',
      },
      context,
    );
    expect(result).toEqual(['ok']);
    expect(context.sleep.delays[0]).toBe(7_000);
    expect(context.sleep.delays).toHaveLength(2);
    expect(context.log.lines.filter((l) => l.transient).length).toBe(2);
  });

  it('on 1303 with none of its own running: one entry probes alone while the others wait, so creates stay few', async () => {
    const context = poolContext();
    // Another user holds the account until the fake clock passes 5 s.
    const freeAtMs = context.clock.now() + 5_000;
    const creates: number[] = [];
    const result = await runPool(
      {
        count: 4,
        slots: new Gate(3),
        attempt: (i, place) => {
          creates.push(i);
          if (context.clock.now() < freeAtMs)
            return Promise.resolve({ accountFull: true, result: 'refused' });
          place.taskStarted();
          place.release();
          return Promise.resolve({ accountFull: false, result: `done ${i}` });
        },
        notStarted: () => 'not started',
      },
      context,
    );
    expect(result).toEqual(['done 0', 'done 1', 'done 2', 'done 3']);
    // The three first creates go out together; after the refusals only one entry probes per backoff.
    const refused = creates.length - 4;
    expect(refused).toBeLessThanOrEqual(3 + context.sleep.delays.length);
    expect(context.sleep.delays.length).toBeGreaterThan(0);
    expect(context.sleep.delays.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5_000);
  });

  it('a task that ends without a final status (wait: false) stops counting: a 1303 then backs off instead of spinning', async () => {
    const context = poolContext();
    context.deadlineMs = context.clock.now() + 20_000;
    let creates = 0;
    const result = await runPool(
      {
        count: 2,
        slots: new Gate(2),
        attempt: (i, place) => {
          creates++;
          if (i === 0) {
            // Submitted, not waited for: the task exists, but the entry ends here.
            place.taskStarted();
            return Promise.resolve({ accountFull: false, result: 'submitted' });
          }
          return Promise.resolve({ accountFull: true, result: '1303' });
        },
        notStarted: () => 'not started',
      },
      context,
    );
    expect(result).toEqual(['submitted', '1303']);
    // Every refusal after the first waited a backoff: creates stay few until the deadline.
    expect(creates).toBeLessThanOrEqual(2 + context.sleep.delays.length);
    expect(context.sleep.delays.length).toBeGreaterThan(0);
  });

  it('takes back a place each time one of its tasks finishes, after lowering for 1303', async () => {
    const slots = new Gate(3);
    const context = poolContext();
    const finish = [deferred(), deferred()];
    let refusedOnce = false;
    const result = runPool(
      {
        count: 3,
        slots,
        attempt: async (i, place) => {
          if (i === 2 && !refusedOnce) {
            refusedOnce = true;
            return { accountFull: true, result: 'refused' };
          }
          place.taskStarted();
          if (i < 2) await finish[i]!.promise;
          place.release();
          return { accountFull: false, result: `done ${i}` };
        },
        notStarted: () => 'not started',
      },
      context,
    );
    await tick();
    await tick();
    expect(slots.limit).toBe(2);
    // Finishing soon after the refusal keeps the lower limit; once the account is quiet, it is raised.
    finish[0]!.resolve();
    await tick();
    await tick();
    expect(slots.limit).toBe(2);
    context.clock.advance(30_000);
    finish[1]!.resolve();
    await tick();
    await tick();
    expect(slots.limit).toBe(3);
    expect(await result).toEqual(['done 0', 'done 1', 'done 2']);
  });

  it('gives up waiting on 1303 at the deadline, returning the refusal', async () => {
    const context = poolContext();
    context.deadlineMs = context.clock.now() + 30_000;
    let tries = 0;
    const result = await runPool(
      {
        count: 1,
        slots: new Gate(1),
        attempt: () => Promise.resolve({ accountFull: true, result: `1303 #${++tries}` }),
        notStarted: () => 'not started',
      },
      context,
    );
    expect(result[0]).toMatch(/^1303 #\d+$/);
    expect(tries).toBeGreaterThan(1);
    expect(context.clock.now()).toBeLessThanOrEqual(context.deadlineMs);
  });

  it('on cancellation, entries still waiting end as not started; running ones end as they report', async () => {
    const controller = new AbortController();
    const running = deferred<string>();
    const result = runPool(
      {
        count: 3,
        slots: new Gate(1),
        attempt: async () => ({ accountFull: false, result: await running.promise }),
        notStarted: (i) => `not started ${i}`,
      },
      poolContext({ signal: controller.signal }),
    );
    await tick();
    controller.abort(new CancelledError('SIGTERM'));
    running.resolve('cancelled while running');
    expect(await result).toEqual(['cancelled while running', 'not started 1', 'not started 2']);
  });
});
