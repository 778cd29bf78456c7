import { describe, expect, it } from 'vitest';
import type { KlingClient } from '../../../src/kling/client.ts';
import type { Task, TaskStatus } from '../../../src/kling/responses.ts';
import { abortableSleep, CancelledError } from '../../../src/runtime.ts';
import { TaskTimeoutError, waitForTask, type PollLimits, type WaitContext } from '../../../src/task/wait.ts';
import { policy } from '../../../src/policy.ts';
import { constantRandom, fakeRetryContext, task } from '../../support/fakes.ts';

/** A client whose getTask answers the given statuses in turn (the last one repeats). */
function scriptedClient(statuses: TaskStatus[]) {
  const calls: { taskId: string; deadlineMs: number; atMs: number }[] = [];
  let clockNow = () => 0;
  const client = {
    getTask: (id: string, deadlineMs: number): Promise<Task> => {
      calls.push({ taskId: id, deadlineMs, atMs: clockNow() });
      const status = statuses[Math.min(calls.length - 1, statuses.length - 1)]!;
      return Promise.resolve(task({ taskId: id, status }));
    },
  };
  return {
    calls,
    client: client as unknown as KlingClient,
    bindClock: (now: () => number) => {
      clockNow = now;
    },
  };
}

const POLL: PollLimits = {
  proportion: 0.1,
  capMs: 30_000,
  jitter: 0.1,
  heartbeatMs: 30_000,
  lastLookMs: 2_000,
};
const STEADY: Partial<WaitContext> = {
  initialPollMs: 5_000,
  poll: { ...POLL, proportion: 0, capMs: 5_000, jitter: 0 },
};

type WaitOptions = WaitContext;

function setup(statuses: TaskStatus[], overrides: Partial<WaitOptions> = {}) {
  const context = fakeRetryContext({ random: constantRandom(0.5) });
  const scripted = scriptedClient(statuses);
  scripted.bindClock(() => context.clock.now());
  const seen: TaskStatus[] = [];
  const options: WaitOptions = {
    ...context,
    client: scripted.client,
    initialPollMs: 5_000,
    poll: POLL,
    deadlineMs: context.clock.now() + 900_000,
    startedMs: context.clock.now(),
    onStatus: (t) => seen.push(t.status),
    ...overrides,
  };
  return { context, options, seen, calls: scripted.calls };
}

describe('waitForTask', () => {
  it('polls submitted → processing → succeed and returns the finished task', async () => {
    const { context, options, seen, calls } = setup(['processing', 'processing', 'succeed']);
    const done = await waitForTask(task({ status: 'submitted' }), options);
    expect(done.status).toBe('succeed');
    expect(seen).toEqual(['processing', 'processing', 'succeed']);
    expect(calls.map((c) => c.taskId)).toEqual(['task-1', 'task-1', 'task-1']);
    // Early on, 10 % of the elapsed time is below the 5 s floor: every poll waits 5 s.
    expect(context.sleep.delays).toEqual([5_000, 5_000, 5_000]);
  });

  it('waits exactly the initial interval before the first poll', async () => {
    const { context, options } = setup(['succeed'], {
      initialPollMs: 3_000,
      random: constantRandom(0),
    });
    await waitForTask(task(), options);
    expect(context.sleep.delays[0]).toBe(3_000);
  });

  it('returns a task that is already finished without polling', async () => {
    const { context, options, calls } = setup(['processing']);
    const done = await waitForTask(task({ status: 'failed' }), options);
    expect(done.status).toBe('failed');
    expect(calls).toEqual([]);
    expect(context.sleep.delays).toEqual([]);
  });

  it('returns a failed task (the caller decides what failure means)', async () => {
    const { options } = setup(['processing', 'failed']);
    expect((await waitForTask(task(), options)).status).toBe('failed');
  });

  it('asks the client to retry reads until the deadline', async () => {
    const { options, calls } = setup(['succeed']);
    await waitForTask(task(), options);
    expect(calls[0]?.deadlineMs).toBe(options.deadlineMs);
  });

  it('throws TaskTimeoutError at the deadline, naming the task, its last status and how to resume', async () => {
    const { context, options } = setup(['processing'], STEADY);
    options.deadlineMs = context.clock.now() + 22_000;
    const error = await waitForTask(task({ taskId: '861254119619698760' }), options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskTimeoutError);
    const timeout = error as TaskTimeoutError;
    expect(timeout.message).toContain('861254119619698760');
    expect(timeout.message).toContain('last status: processing');
    expect(timeout.message).toContain("keeps running on Kling's side");
    // How to resume names inputs: the step adds that (advice.ts).
    expect(timeout.message).not.toContain('timeout_seconds');
    expect(timeout.task.status).toBe('processing');
    expect(context.clock.now()).toBeLessThanOrEqual(options.deadlineMs);
    // Never sleeps past the deadline.
    expect(context.sleep.delays.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(22_000);
  });

  it('polls a last time shortly before the deadline, so that poll can still be answered', async () => {
    // 5 s, then 7.5 s shortened to end 2 s before the deadline: the task finished meanwhile.
    const { context, options, calls } = setup(['processing', 'succeed']);
    options.deadlineMs = context.clock.now() + 10_000;
    const done = await waitForTask(task(), options);
    expect(done.status).toBe('succeed');
    expect(calls).toHaveLength(2);
    expect(context.sleep.delays).toEqual([5_000, 3_000]);
  });

  function abortDuringSleep() {
    const controller = new AbortController();
    const { options } = setup(['processing'], {
      sleep: abortableSleep,
      signal: controller.signal,
      initialPollMs: 60_000,
      poll: { ...POLL, proportion: 0, capMs: 60_000, jitter: 0 },
    });
    const reason = new CancelledError('SIGTERM');
    setTimeout(() => controller.abort(reason), 20);
    return { reason, result: waitForTask(task(), options).catch((e: unknown) => e) };
  }

  it('stops a real 60 s sleep promptly when the signal aborts', async () => {
    const started = performance.now();
    const { result } = abortDuringSleep();
    expect(await result).toBeInstanceOf(Error);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('rejects with the abort reason itself (abortableSleep)', async () => {
    const { reason, result } = abortDuringSleep();
    expect(await result).toBe(reason);
  });

  it('passes the signal to sleep and propagates its rejection', async () => {
    const controller = new AbortController();
    const reason = new CancelledError('SIGINT');
    controller.abort(reason);
    const { options, calls } = setup(['processing'], { signal: controller.signal });
    await expect(waitForTask(task(), options)).rejects.toBe(reason);
    expect(calls).toEqual([]);
  });
});

describe('waitForTask logging', () => {
  it('logs status changes at info, heartbeats no more often than heartbeatMs, the rest at debug', async () => {
    const statuses: TaskStatus[] = ['processing', ...Array<TaskStatus>(30).fill('processing'), 'succeed'];
    const { context, options } = setup(statuses, STEADY);
    await waitForTask(task({ status: 'submitted' }), options);

    const info = context.log.lines.filter((l) => l.level === 'info');
    const debug = context.log.lines.filter((l) => l.level === 'debug');
    expect(info[0]?.message).toBe('Task task-1: processing after 5s.');
    expect(info.at(-1)?.message).toMatch(/^Task task-1: succeed after 2m40s\.$/);
    const heartbeats = info.filter((l) => l.message.includes('still processing'));
    expect(heartbeats.length).toBeGreaterThan(0);
    const infoTimes = info.map((l) => l.atMs);
    for (let i = 1; i < infoTimes.length - 1; i++)
      expect(infoTimes[i]! - infoTimes[i - 1]!).toBeGreaterThanOrEqual(30_000);
    expect(heartbeats[0]?.atMs).toBe(options.startedMs + 35_000);
    expect(debug.length + info.length).toBe(statuses.length);
    expect(debug[0]?.message).toMatch(/^Task task-1: processing \(poll \d+\)\.$/);
    expect(context.log.at('warning')).toEqual([]);
  });

  it('uses the policy heartbeat of 30 s', async () => {
    const statuses: TaskStatus[] = [...Array<TaskStatus>(13).fill('processing'), 'succeed'];
    const { context, options } = setup(statuses, {
      ...STEADY,
      poll: { ...STEADY.poll!, heartbeatMs: policy.poll.heartbeatMs },
    });
    await waitForTask(task({ status: 'processing' }), options);
    const heartbeats = context.log.lines.filter((l) => l.message.includes('still processing'));
    expect(heartbeats.map((l) => l.atMs - options.startedMs)).toEqual([30_000, 60_000]);
  });
});
