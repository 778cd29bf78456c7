/** The runner's entry: nothing but the call, so the logic stays importable (tests, @github/local-action). */
import { run } from './action.ts';

await run();
