/**
 * An action's stdout as a runner shows it in the job log: no ::debug:: lines (shown only with debug
 * logging) and no ::add-mask:: lines; groups and annotations as the runner renders them.
 */
export function runnerLog(stdout: string): string {
  const lines: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith('::debug::') || line.startsWith('::add-mask::') || line === '::endgroup::') continue;
    const command = /^::(group|warning|error|notice)( [^:]*)?::(.*)$/.exec(line);
    if (!command) lines.push(line);
    else if (command[1] === 'group') lines.push(`▸ ${command[3]}`);
    else lines.push(`${command[1]![0]!.toUpperCase()}${command[1]!.slice(1)}: ${unescapeData(command[3]!)}`);
  }
  return lines.join('\n').trimEnd();
}

/** Workflow-command data escapes %, CR and LF. */
function unescapeData(data: string): string {
  return data.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}
