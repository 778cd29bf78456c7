import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findFiles } from '../../../src/inputs/files.ts';
import { InputError, readInputs } from '../../../src/inputs/read.ts';
import { scratchDir } from '../../support/run-action.ts';

/** A workspace with these files (path → text), and a RUNNER_TEMP beside it. */
function roots(files: Record<string, string>) {
  const workspace = scratchDir('files-ws-');
  const runnerTemp = scratchDir('files-temp-');
  for (const [name, text] of Object.entries(files)) {
    const at = name.startsWith('$TEMP/') ? path.join(runnerTemp, name.slice(6)) : path.join(workspace, name);
    mkdirSync(path.dirname(at), { recursive: true });
    writeFileSync(at, text);
  }
  return { workspace, runnerTemp };
}

const read = (given: Record<string, string>, where: { workspace: string; runnerTemp: string }) =>
  findFiles(
    readInputs((name) => ({ api_key: 'sk-test', ...given })[name] ?? '', where.workspace),
    where,
  );

async function problems(given: Record<string, string>, where: { workspace: string; runnerTemp: string }) {
  const error = await read(given, where).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return (error as InputError).problems;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('findFiles: videos on the runner, found before any request', () => {
  it('expands each pattern in sorted order at its place in the list, less what a ! pattern excludes', async () => {
    const where = roots({ 'r/b.mp4': 'B', 'r/a.mp4': 'A', 'r/sub/c.mp4': 'C', 'r/x.mov': 'X' });
    const inputs = await read(
      {
        videos: ['https://cdn.example.com/first.mp4', 'r/*.mp4', '8612', 'r/**/*.mp4', '!r/a.mp4'].join('\n'),
      },
      where,
    );
    // As in upload-artifact's path: an exclusion applies to every pattern of the list.
    expect(inputs.entries.map((e) => e.name)).toEqual([
      'https://cdn.example.com/first.mp4',
      'r/b.mp4',
      '8612',
      'r/b.mp4',
      'r/sub/c.mp4',
    ]);
    expect(inputs.files).toEqual([]);
  });

  it('hashes each file: its bytes tell it apart, wherever it lies and whatever it is called', async () => {
    const where = roots({ 'a.mp4': 'same', 'copy.mp4': 'same', 'other.mp4': 'other' });
    const inputs = await read({ videos: 'a.mp4\ncopy.mp4\nother.mp4' }, where);
    expect(inputs.entries.map((e) => e.source)).toEqual([
      {
        kind: 'video_path',
        path: 'a.mp4',
        absolute: path.join(where.workspace, 'a.mp4'),
        sha256: sha('same'),
        bytes: 4,
      },
      {
        kind: 'video_path',
        path: 'copy.mp4',
        absolute: path.join(where.workspace, 'copy.mp4'),
        sha256: sha('same'),
        bytes: 4,
      },
      {
        kind: 'video_path',
        path: 'other.mp4',
        absolute: path.join(where.workspace, 'other.mp4'),
        sha256: sha('other'),
        bytes: 5,
      },
    ]);
  });

  it('takes video_path and a JSON entry as written (no glob), and a file in RUNNER_TEMP by its absolute path', async () => {
    const where = roots({ '[draft].mp4': 'D', '$TEMP/render.mp4': 'R' });
    const single = await read({ video_path: '[draft].mp4' }, where);
    expect(single.entries.map((e) => e.name)).toEqual(['[draft].mp4']);
    const json = await read(
      { videos: JSON.stringify([{ video_path: path.join(where.runnerTemp, 'render.mp4'), name: 'Render' }]) },
      where,
    );
    expect(json.entries.map((e) => [e.name, e.source.kind])).toEqual([['Render', 'video_path']]);
  });

  it('refuses, in one round: a missing file, a directory, a path outside, a link out, a pattern that finds nothing', async () => {
    const where = roots({ 'dir/a.mp4': 'A' });
    symlinkSync('/etc/hostname', path.join(where.workspace, 'link.mp4'));
    expect(
      await problems(
        { videos: ['gone.mp4', 'dir', '../up.mp4', '/etc/hostname', 'link.mp4', 'dir/*.mov'].join('\n') },
        where,
      ),
    ).toEqual([
      expect.stringMatching(/^videos line 1: gone\.mp4 does not exist/),
      expect.stringMatching(/^videos line 2: dir is a directory/),
      expect.stringMatching(/^videos line 3: \.\.\/up\.mp4 is outside the workspace/),
      expect.stringMatching(/^videos line 4: \/etc\/hostname is outside the workspace/),
      expect.stringMatching(/^videos line 5: link\.mp4 links outside the workspace/),
      expect.stringMatching(/^videos line 6: the pattern dir\/\*\.mov matches no file/),
    ]);
    expect(await problems({ video_path: 'gone.mp4' }, where)).toEqual([
      expect.stringMatching(/^video_path: gone\.mp4 does not exist/),
    ]);
  });

  it('a link to a directory outside, matched by a pattern, is refused file by file', async () => {
    const where = roots({ 'r/a.mp4': 'A' });
    const outside = roots({ 'secret.mp4': 'S' }).workspace;
    symlinkSync(outside, path.join(where.workspace, 'r', 'out'));
    expect(await problems({ videos: 'r/**/*.mp4' }, where)).toEqual([
      expect.stringMatching(
        /^videos line 1: r\/out\/secret\.mp4 \(matched by r\/\*\*\/\*\.mp4\) links outside the workspace/,
      ),
    ]);
  });

  it('a workspace reached through a link, and a file whose name starts with two dots, are inside', async () => {
    const real = roots({ 'a.mp4': 'A', '..intro.mp4': 'I' });
    const workspace = path.join(scratchDir('files-link-'), 'ws');
    symlinkSync(real.workspace, workspace);
    const inputs = await read({ videos: 'a.mp4\n..intro.mp4\n*intro.mp4' }, { ...real, workspace });
    expect(inputs.entries.map((e) => e.name)).toEqual(['a.mp4', '..intro.mp4', '..intro.mp4']);
  });

  it('counts the files a pattern finds against the step limit', async () => {
    const files = Object.fromEntries(
      Array.from({ length: 201 }, (_, i) => [`r/${String(i).padStart(3, '0')}.mp4`, `${i}`]),
    );
    expect(await problems({ videos: 'r/*.mp4' }, roots(files))).toEqual([
      expect.stringMatching(/comes to 201 videos once its patterns are expanded; one step takes at most 200/),
    ]);
  });
});
