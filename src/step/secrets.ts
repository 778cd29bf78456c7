/**
 * The step's one door for secrets: whatever is given to `mask` (credentials, each JWT signed, and
 * later any other secret of the step) is masked in the runner's log and taken out of every text the
 * step writes through its sinks: outputs, state, the summary, the failure and the log.
 */
import { Redactor } from '../net/redact.ts';
import type { OutputSink } from '../report/task-report.ts';
import type { Log } from '../runtime.ts';
import type { TaskOutcome } from '../task/task.ts';

/** Where the step's texts leave it. */
export interface Sinks {
  /** core.setSecret: masks a value in every later log line. */
  mask: (secret: string) => void;
  outputs: OutputSink;
  writeSummary: (markdown: string) => Promise<void>;
  fail: (message: string) => void;
  log: Log;
}

export interface Guarded<T extends Sinks> {
  /** The same world with every sink redacted, and `mask` feeding the redactor too. */
  deps: T;
  /** For texts the step hands on by other ways: the PR comment, `results`, the cache's manifest. */
  redactor: Redactor;
}

export function guardSecrets<T extends Sinks>(world: T): Guarded<T> {
  const redactor = new Redactor();
  const redact = (text: string) => redactor.redact(text);
  return {
    redactor,
    deps: {
      ...world,
      mask: (secret) => {
        world.mask(secret);
        redactor.add(secret);
      },
      outputs: {
        setOutput: (name, value) => world.outputs.setOutput(name, redact(value)),
        saveState: (name, value) => world.outputs.saveState(name, redact(value)),
      },
      writeSummary: (markdown) => world.writeSummary(redact(markdown)),
      fail: (message) => world.fail(redact(message)),
      log: {
        info: (message) => world.log.info(redact(message)),
        warning: (message, options) => world.log.warning(redact(message), options),
        debug: (message) => world.log.debug(redact(message)),
      },
    },
  };
}

/** An outcome as the API described it, with every secret taken out: what the cache's manifest keeps. */
export function redactOutcome(redactor: Redactor, outcome: TaskOutcome): TaskOutcome {
  return {
    ...outcome,
    task: redactor.redactData(outcome.task),
    files: outcome.files.map((file) => ('url' in file ? { ...file, url: redactor.redact(file.url) } : file)),
  };
}
