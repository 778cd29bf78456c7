import { describe, expect, it } from 'vitest';
import { deliverAll, type Delivery, type DeliveryContext } from '../../../src/deliver/delivery.ts';
import type { Ending } from '../../../src/report/task-report.ts';
import { CancelledError } from '../../../src/runtime.ts';
import { fakeRetryContext } from '../../support/fakes.ts';

/** A delivery that records its turn and ends the step as told. */
function delivery(name: string, calls: string[], tells: boolean, ends?: Ending): Delivery {
  return {
    tells,
    deliver(_context, ending) {
      calls.push(`${name}${ending ? ` after ${ending.kind}` : ''}`);
      return Promise.resolve(ends);
    },
  };
}

function context(signal = new AbortController().signal): DeliveryContext {
  const retry = fakeRetryContext({ signal });
  return {
    ...retry,
    signal,
    outcomes: [],
    endings: [],
    files: [],
    report: undefined as never,
    deadlineMs: retry.clock.now() + 60_000,
    onAbandoned: () => {},
  };
}

describe('deliverAll: the order of deliveries and what a failure stops', () => {
  it('runs every delivery in order when none fails', async () => {
    const calls: string[] = [];
    const ending = await deliverAll(
      [
        delivery('artifact', calls, false),
        delivery('release', calls, false),
        delivery('comment', calls, true),
      ],
      context(),
    );
    expect(ending).toBeUndefined();
    expect(calls).toEqual(['artifact', 'release', 'comment']);
  });

  it('a failed delivery stops those that hand files on, but the comment still says how the step went', async () => {
    const calls: string[] = [];
    const failed: Ending = { kind: 'failed', message: 'upload failed' };
    const ending = await deliverAll(
      [
        delivery('artifact', calls, false, failed),
        delivery('release', calls, false),
        delivery('comment', calls, true),
      ],
      context(),
    );
    expect(ending).toBe(failed);
    expect(calls).toEqual(['artifact', 'comment after failed']);
  });

  it('cancelled: nothing more is delivered, and the step ends as cancelled', async () => {
    const controller = new AbortController();
    const calls: string[] = [];
    const cancelling: Delivery = {
      tells: false,
      deliver() {
        calls.push('artifact');
        controller.abort(new CancelledError('SIGTERM'));
        return Promise.resolve(undefined);
      },
    };
    const ending = await deliverAll(
      [cancelling, delivery('comment', calls, true)],
      context(controller.signal),
    );
    expect(ending).toEqual({ kind: 'cancelled', signal: 'SIGTERM' });
    expect(calls).toEqual(['artifact']);
  });
});
