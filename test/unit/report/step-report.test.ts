import { describe, expect, it } from 'vitest';
import { StepReport, type EntryLabel } from '../../../src/report/step-report.ts';
import type { Ending } from '../../../src/report/task-report.ts';
import { FakeClock, recordingSink, succeededTask, task } from '../../support/fakes.ts';

const label = (name: string): EntryLabel => ({
  name,
  source: `https://cdn.example.com/${name}.mp4`,
  description: name,
});

function setup(names: string[], batch = true) {
  const clock = new FakeClock();
  const sink = recordingSink();
  const report = new StepReport(sink, names.map(label), batch, {
    provider: 'cometapi',
    allowHttpResults: false,
    audioFormat: 'mp3',
    clock,
    startedMs: clock.now(),
    workspace: '/ws',
  });
  return { clock, sink, report };
}

const file = (taskId: string) => ({
  role: 'audio' as const,
  kind: 'mp3' as const,
  url: `https://cdn.example.com/${taskId}.mp3`,
  path: `/ws/kling-audio/${taskId}.mp3`,
  bytes: 2048,
});

describe('StepReport', () => {
  it('publishes each per-task output as one line per entry, in input order, the moment a value arrives', () => {
    const { sink, report } = setup(['a', 'b', 'c']);
    report.entries[1]!.taskKnown(task({ taskId: 't-b' }), 'ext-b', false);
    expect(sink.output('task_id')).toBe('\nt-b\n');
    report.entries[0]!.taskKnown(task({ taskId: 't-a' }), 'ext-a', false);
    expect(sink.output('task_id')).toBe('t-a\nt-b\n');
    expect(sink.output('external_task_id')).toBe('ext-a\next-b\n');
    expect(sink.state('task_id')).toBe('t-a\nt-b\n');
  });

  it('keeps plain values for a single video', () => {
    const { sink, report } = setup(['only'], false);
    report.entries[0]!.taskKnown(task({ taskId: 't-1' }), 'ext-1', false);
    report.entries[0]!.status(succeededTask({ taskId: 't-1' }));
    report.entries[0]!.downloaded(file('t-1'));
    expect(sink.output('task_id')).toBe('t-1');
    expect(sink.output('audio_path')).toBe('/ws/kling-audio/t-1.mp3');
    expect(sink.output('files')).toBe('/ws/kling-audio/t-1.mp3');
  });

  it('entries that share a task: both rows report it, its files and cost count once, the second points to the first', () => {
    const { sink, report } = setup(['a', 'a again', 'b']);
    report.shareTask(1, 0);
    const shared = succeededTask({ taskId: 't-a', billing: { units: '1' } });
    for (const i of [0, 1]) {
      report.entries[i]!.taskKnown(shared, 'ext-a', false);
      report.entries[i]!.downloaded(file('t-a'));
    }
    report.entries[2]!.taskKnown(succeededTask({ taskId: 't-b', billing: { units: '1' } }), 'ext-b', false);
    report.entries[2]!.downloaded(file('t-b'));
    expect(sink.output('task_id')).toBe('t-a\nt-a\nt-b');
    expect(sink.output('audio_path')).toBe(
      '/ws/kling-audio/t-a.mp3\n/ws/kling-audio/t-a.mp3\n/ws/kling-audio/t-b.mp3',
    );
    expect(sink.output('files')).toBe('/ws/kling-audio/t-a.mp3\n/ws/kling-audio/t-b.mp3');

    const endings: Ending[] = [{ kind: 'succeeded' }, { kind: 'succeeded' }, { kind: 'succeeded' }];
    const summary = report.summary(endings);
    expect(summary).toContain('4.0 KiB downloaded; 2 units billed');
    const rows = summary.split('\n').filter((l) => /^\| \d/.test(l));
    expect(rows[1]).toContain('(the task of #1)');
    expect(rows[1]).toContain('see #1');
    expect(report.comment(endings)).toContain('(the task of #1)');
    report.publishResults(endings);
    const results = JSON.parse(sink.output('results')!) as { task_id: string }[];
    expect(results.map((r) => r.task_id)).toEqual(['t-a', 't-a', 't-b']);
  });

  it('lists every file in files, without empty lines for entries that have none', () => {
    const { sink, report } = setup(['a', 'b', 'c']);
    report.entries[2]!.downloaded(file('t-c'));
    report.entries[0]!.downloaded(file('t-a'));
    expect(sink.output('files')).toBe('/ws/kling-audio/t-a.mp3\n/ws/kling-audio/t-c.mp3');
  });

  it('results: one object per entry in input order, with error only where the entry did not succeed', () => {
    const { sink, report } = setup(['a', 'b']);
    report.entries[0]!.taskKnown(succeededTask({ taskId: 't-a' }), 'ext-a', false);
    report.entries[0]!.downloaded(file('t-a'));
    const endings: Ending[] = [
      { kind: 'succeeded' },
      { kind: 'failed', message: 'Task t-b failed: "risk".' },
    ];
    report.publishResults(endings);
    const results = JSON.parse(sink.output('results')!) as Record<string, unknown>[];
    expect(results).toHaveLength(2);
    expect(results[0]).toMatchObject({
      name: 'a',
      source: 'https://cdn.example.com/a.mp4',
      task_id: 't-a',
      external_task_id: 'ext-a',
      task_status: 'succeed',
      audio_url: 'https://cdn.example.com/a.mp3',
      audio_path: '/ws/kling-audio/t-a.mp3',
      duration: '5.04',
    });
    expect(results[0]).not.toHaveProperty('error');
    expect(results[1]).toMatchObject({ name: 'b', task_id: null, error: 'Task t-b failed: "risk".' });
  });

  it("results[].muxed_path: each entry's muxed video, null where there is none; muxed_path has a line per entry", () => {
    const { sink, report } = setup(['a', 'b']);
    report.entries[1]!.downloaded({
      role: 'muxed',
      kind: 'mp4',
      path: '/ws/kling-audio/t-b-muxed.mp4',
      bytes: 1,
    });
    report.publishResults([{ kind: 'succeeded' }, { kind: 'succeeded' }]);
    const results = JSON.parse(sink.output('results')!) as Record<string, unknown>[];
    expect(results.map((r) => r['muxed_path'])).toEqual([null, '/ws/kling-audio/t-b-muxed.mp4']);
    expect(Object.keys(results[0]!).slice(-2)).toEqual(['duration', 'muxed_path']);
    expect(sink.output('muxed_path')).toBe('\n/ws/kling-audio/t-b-muxed.mp4');
  });

  it('names each entry that did not succeed in one error, and only those', () => {
    const { report } = setup(['good', 'bad', 'late']);
    const message = report.failureMessage([
      { kind: 'succeeded' },
      { kind: 'failed', message: 'Task t-2 failed: "risk".' },
      { kind: 'timeout', message: 'Task t-3 did not finish.' },
    ]);
    expect(message).toMatch(/^2 of 3 videos did not succeed:/);
    expect(message).toContain('- bad: Task t-2 failed');
    expect(message).toContain('- late: Task t-3 did not finish.');
    expect(message).not.toContain('good');
  });

  it('on cancellation, leads with how to resume the whole batch', () => {
    const { report } = setup(['a', 'b']);
    report.entries[0]!.taskKnown(task({ taskId: 't-a', status: 'processing' }), 'ext-a', false);
    const cancelled: Ending = { kind: 'cancelled', signal: 'SIGINT' };
    const message = report.failureMessage([cancelled, cancelled], cancelled);
    expect(message).toMatch(/^Cancelled \(SIGINT\)\. .*re-run this job to resume them all/);
    expect(message).toContain('t-a');
  });

  it('summarises a batch as one row per entry with totals, readable at 50 entries', () => {
    const names = Array.from({ length: 50 }, (_, i) => `clip-${i + 1}`);
    const { report } = setup(names);
    names.forEach((_, i) => {
      const id = `t-${i + 1}`;
      report.entries[i]!.taskKnown(succeededTask({ taskId: id, billing: { units: '2' } }), `ext-${i}`, false);
      report.entries[i]!.downloaded(file(id));
    });
    const summary = report.summary(names.map(() => ({ kind: 'succeeded' })));
    expect(summary).toMatch(/^## Kling video-to-audio: 50 of 50 done/);
    const rows = summary.split('\n').filter((line) => /^\| \d+ \|/.test(line));
    expect(rows).toHaveLength(50);
    expect(rows[49]).toContain('`clip-50`');
    expect(rows[49]).toContain('`t-50.mp3`');
    expect(summary).toContain('**Total:** 50 succeeded, 0 not');
    expect(summary).toContain('100 units billed');
    // Every row has the same seven cells.
    for (const row of rows) expect(row.split(' | ')).toHaveLength(7);
  });
});

describe('StepReport within GitHub limits', () => {
  const HOSTILE =
    `${'|'.repeat(90)}\`\`\`<!-- </table><img src=x onerror=alert(1)> [x](javascript:alert(1)) ::error::x\n`
      .repeat(40)
      .slice(0, 4096);

  /** 200 entries whose tasks failed with 4 KB of hostile text, and long names made of pipes. */
  function failedBatch() {
    const names = Array.from({ length: 200 }, (_, i) => `${'|'.repeat(90)}${i}`);
    const { report } = setup(names);
    const endings: Ending[] = names.map((_, i) => {
      const id = `t-${i}`;
      report.entries[i]!.taskKnown(
        task({ taskId: id, status: 'failed', statusMessage: HOSTILE }),
        `ext-${i}`,
        false,
      );
      return { kind: 'failed', message: `Task ${id} failed: "${HOSTILE}".` };
    });
    return { report, endings };
  }

  const rowsOf = (body: string) => body.split('\n').filter((line) => line.startsWith('| `'));

  it('a comment that fits keeps every row and every status message as it is', () => {
    const { report } = setup(['a', 'b']);
    report.entries[0]!.taskKnown(
      task({ taskId: 't-a', status: 'failed', statusMessage: 'risk' }),
      'e',
      false,
    );
    const body = report.comment([{ kind: 'failed', message: 'x' }, { kind: 'succeeded' }]);
    expect(rowsOf(body)).toHaveLength(2);
    expect(body).toContain('failed `risk`');
    expect(body).not.toMatch(/not shown|cut short/);
  });

  it('a comment over the limit cuts status messages short first, and says so', () => {
    const { report, endings } = failedBatch();
    const full = report.comment(endings, undefined, { maxChars: 10_000_000 });
    expect(full.length).toBeGreaterThan(65_536);
    const body = report.comment(endings, undefined, {
      maxChars: 65_000,
      summaryUrl: 'https://github.com/o/r/actions/runs/1',
    });
    expect(body.length).toBeLessThanOrEqual(65_000);
    expect(rowsOf(body)).toHaveLength(200);
    expect(body).toContain(
      '_Status messages are cut short to fit in a comment: [the job summary](https://github.com/o/r/actions/runs/1) shows more._',
    );
  });

  it('a comment still over the limit leaves out its last rows and says how many', () => {
    const { report, endings } = failedBatch();
    const body = report.comment(endings, { kind: 'failed', message: HOSTILE }, { maxChars: 20_000 });
    expect(body.length).toBeLessThanOrEqual(20_000);
    const rows = rowsOf(body);
    const left =
      /_(\d+) of 200 entries are not shown, and status messages are left out, to fit in a comment: the job summary lists them all\._/.exec(
        body,
      );
    expect(left).not.toBeNull();
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.length + Number(left![1])).toBe(200);
    // The note is a paragraph of its own, not a row of the table.
    expect(body).toMatch(/\|\n\n_\d+ of 200/);
    expect(body).toContain('> [!CAUTION]');
  });

  it('a long list of release assets and artifacts takes only its share of a comment', () => {
    const { report, endings } = failedBatch();
    report.releaseAssets(
      Array.from(
        { length: 800 },
        (_, i) => `https://github.com/o/r/releases/download/v1/${'a'.repeat(60)}-${i}.mp3`,
      ),
    );
    report.artifactUploaded(
      Array.from({ length: 800 }, (_, i) => ({
        name: `${'b'.repeat(60)}-${i}.mp3`,
        id: i,
        url: `https://github.com/o/r/actions/runs/1/artifacts/${i}`,
        replaced: false,
      })),
    );
    const body = report.comment(endings, undefined, { maxChars: 65_000 });
    expect(body.length).toBeLessThanOrEqual(65_000);
    expect(body).toMatch(/\*\*Release assets:\*\* .*, and \d+ more\n/);
    expect(body).toMatch(/\*\*Artifacts:\*\* .*, and \d+ more\n/);
    expect(rowsOf(body).length).toBeGreaterThan(100);
  });

  it('the summary quotes failures as text: no HTML, link or comment of a server renders', () => {
    const { report, endings } = failedBatch();
    const summary = report.summary(endings, { kind: 'failed', message: `release: ${HOSTILE}` });
    const markup = summary.replace(/(`+)[\s\S]*?[^`]\1(?!`)/g, '');
    expect(markup).not.toMatch(/<(?!br>)[a-z!/]/i);
    expect(markup).not.toMatch(/(?<!\\)\]\(javascript:/);
    expect(summary).toContain('&lt;\\!--');
    expect(Buffer.byteLength(summary)).toBeLessThan(1024 * 1024);
  });

  it('a summary over its limit leaves out error lines and says where they all are', () => {
    const { report, endings } = failedBatch();
    const summary = report.summary(
      endings,
      { kind: 'failed', message: 'the release upload failed' },
      200_000,
    );
    expect(Buffer.byteLength(summary)).toBeLessThanOrEqual(200_000);
    expect(summary.split('\n').filter((line) => /^\| \d+ \|/.test(line))).toHaveLength(200);
    expect(summary).toContain('> the release upload failed');
    expect(summary).toMatch(
      /> … \d+ more lines left out \(the summary's size limit\); every entry's error is in the `results` output\./,
    );
  });
});
