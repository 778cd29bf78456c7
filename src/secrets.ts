/**
 * The step's one door for secrets: whatever is given to `mask` (credentials, each JWT signed, and
 * later any other secret of the step) is masked in the runner's log and taken out of every text the
 * step writes through its dependencies: outputs, state, the summary, the failure and the log.
 */
import type { StepDependencies } from './dependencies.ts';
import { Redactor } from './net/redact.ts';
import type { Log } from './runtime.ts';

export interface GuardedStep {
  /** The step's dependencies with every sink redacted, and `mask` feeding the redactor too. */
  deps: StepDependencies;
  /** For texts the step hands on by other ways: the PR comment, `results`, the cache's manifest. */
  redactor: Redactor;
}

export function guardSecrets(deps: StepDependencies): GuardedStep {
  const redactor = new Redactor();
  const redact = (text: string) => redactor.redact(text);
  const log: Log = {
    info: (message) => deps.log.info(redact(message)),
    warning: (message, options) => deps.log.warning(redact(message), options),
    debug: (message) => deps.log.debug(redact(message)),
  };
  return {
    redactor,
    deps: {
      ...deps,
      mask: (secret) => {
        deps.mask(secret);
        redactor.add(secret);
      },
      outputs: {
        setOutput: (name, value) => deps.outputs.setOutput(name, redact(value)),
        saveState: (name, value) => deps.outputs.saveState(name, redact(value)),
      },
      writeSummary: (markdown) => deps.writeSummary(redact(markdown)),
      fail: (message) => deps.fail(redact(message)),
      log,
    },
  };
}
