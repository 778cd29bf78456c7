/**
 * Where the step hands its results on. Each delivery (the artifact, the release's assets, the pull
 * request's comment) implements `Delivery`; the order and what a failure stops are decided here.
 */
import type { StepReport } from '../report/step-report.ts';
import type { Ending } from '../report/task-report.ts';
import { signalName, type Clock, type Log, type Sleep } from '../runtime.ts';
import type { ResultFile } from '../task/files.ts';
import type { TaskOutcome } from '../task/task.ts';

/** What every delivery is given: the step's results, its report and its time. */
export interface DeliveryContext {
  outcomes: readonly TaskOutcome[];
  /** How each entry ended, in input order. */
  endings: readonly Ending[];
  /** Every file of the step, each once. */
  files: readonly ResultFile[];
  report: StepReport;
  deadlineMs: number;
  clock: Clock;
  sleep: Sleep;
  random: () => number;
  log: Log;
  signal: AbortSignal;
  /** Work was given up but may still run (an upload the client cannot cancel): do not wait for it. */
  onAbandoned: () => void;
}

export interface Delivery {
  /**
   * A delivery that only tells how the step went (the comment) runs after another one ended the step;
   * one that hands files on does not.
   */
  readonly tells: boolean;
  /** The step's ending when this delivery ends it (a failed upload), else undefined. */
  deliver(context: DeliveryContext, ending: Ending | undefined): Promise<Ending | undefined>;
}

/** Each delivery in order; the first that ends the step stops those that hand files on. */
export async function deliverAll(
  deliveries: readonly Delivery[],
  context: DeliveryContext,
): Promise<Ending | undefined> {
  let ending: Ending | undefined;
  for (const delivery of deliveries) {
    if (context.signal.aborted) return ending ?? { kind: 'cancelled', signal: signalName(context.signal) };
    if (ending && !delivery.tells) continue;
    ending = (await delivery.deliver(context, ending)) ?? ending;
  }
  return ending;
}
