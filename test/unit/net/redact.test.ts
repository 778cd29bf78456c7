import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor } from '../../../src/net/redact.ts';
import { guardSecrets } from '../../../src/step/secrets.ts';
import type { StepDependencies } from '../../../src/main.ts';

const KEY = 'sk-live-3f9a1c7e5b2d';

function redactorOf(...secrets: string[]): Redactor {
  const redactor = new Redactor();
  for (const secret of secrets) redactor.add(secret);
  return redactor;
}

describe('Redactor', () => {
  it('takes a key out wherever it stands, as often as it occurs', () => {
    const r = redactorOf(KEY);
    expect(r.redact(`Invalid token: Bearer ${KEY} (request id: 9ab3)`)).toBe(
      'Invalid token: Bearer *** (request id: 9ab3)',
    );
    expect(r.redact(`${KEY}${KEY} and ${KEY}`)).toBe('****** and ***');
    expect(r.redact('nothing secret here')).toBe('nothing secret here');
  });

  it('takes out the forms a gateway may echo it in: URL-encoded (either case), form-encoded, JSON-escaped', () => {
    const key = 'k3y+/=&"\\ä q';
    const r = redactorOf(key);
    const forms = [
      key,
      encodeURIComponent(key),
      encodeURIComponent(key).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
      new URLSearchParams({ a: key }).toString().slice(2),
      JSON.stringify(key).slice(1, -1),
    ];
    expect(new Set(forms).size).toBe(5);
    for (const form of forms)
      expect(r.redact(`Authorization=Bearer%20${form};`)).toBe(`Authorization=Bearer%20${REDACTED};`);
    // A JSON document stays a JSON document.
    expect(JSON.parse(r.redact(JSON.stringify({ error: `bad ${key}` })))).toEqual({
      error: `bad ${REDACTED}`,
    });
  });

  it('takes out the start of a secret that a length cap cut off before its …', () => {
    const r = redactorOf(KEY);
    expect(r.redact(`Server said: "Bearer ${KEY.slice(0, 11)}…"`)).toBe(`Server said: "Bearer ${REDACTED}…"`);
    expect(r.redact(`a ${KEY.slice(0, 4)}… b ${KEY.slice(0, 9)}…`)).toBe(`a ${REDACTED}… b ${REDACTED}…`);
    // Fewer than 4 characters tell nothing, and an ellipsis elsewhere is left alone.
    expect(r.redact(`x ${KEY.slice(0, 3)}… and more…`)).toBe(`x ${KEY.slice(0, 3)}… and more…`);
    // A whole secret right before an ellipsis is replaced once.
    expect(r.redact(`${KEY}…`)).toBe(`${REDACTED}…`);
  });

  it('a secret added later (a JWT signed mid-run) is taken out of texts from then on', () => {
    const r = redactorOf(KEY);
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJhayJ9.c2lnbmF0dXJl';
    expect(r.redact(`Bearer ${jwt}`)).toBe(`Bearer ${jwt}`);
    r.add(jwt);
    expect(r.redact(`Bearer ${jwt} / ${KEY}`)).toBe('Bearer *** / ***');
  });

  it('of two secrets where one holds the other, the longer goes whole', () => {
    const r = redactorOf('abcdef12', 'abcdef12345678');
    expect(r.redact('x abcdef12345678 y abcdef12 z')).toBe('x *** y *** z');
  });

  it('ignores empty and very short values, and trims what it is given', () => {
    const r = redactorOf('', '   ', 'abc', `  ${KEY}\n`);
    expect(r.redact('abc abc')).toBe('abc abc');
    expect(r.redact(`k=${KEY}`)).toBe('k=***');
  });

  it('redactData: every string in plain data, the shape kept', () => {
    const r = redactorOf(KEY);
    const data = {
      taskId: 't1',
      audios: [{ mp3Url: `https://cdn/a.mp3?k=${KEY}`, n: 5 }],
      billing: undefined,
      ok: true,
    };
    expect(r.redactData(data)).toEqual({
      taskId: 't1',
      audios: [{ mp3Url: 'https://cdn/a.mp3?k=***', n: 5 }],
      billing: undefined,
      ok: true,
    });
    expect(r.redactData(undefined)).toBeUndefined();
    expect(data.audios[0]!.mp3Url).toContain(KEY);
  });
});

describe('guardSecrets', () => {
  it('mask masks and feeds the redactor; every sink of the step writes redacted text', async () => {
    const seen: string[] = [];
    const world = {
      mask: (s: string) => seen.push(`mask ${s}`),
      outputs: {
        setOutput: (n: string, v: string) => seen.push(`output ${n} ${v}`),
        saveState: (n: string, v: string) => seen.push(`state ${n} ${v}`),
      },
      writeSummary: (m: string) => {
        seen.push(`summary ${m}`);
        return Promise.resolve();
      },
      fail: (m: string) => seen.push(`fail ${m}`),
      log: {
        info: (m: string) => seen.push(`info ${m}`),
        warning: (m: string, o?: { transient?: boolean }) =>
          seen.push(`warning ${m} ${String(o?.transient)}`),
        debug: (m: string) => seen.push(`debug ${m}`),
      },
    } as unknown as StepDependencies;
    const { deps, redactor } = guardSecrets(world);
    deps.mask(KEY);
    const said = `said Bearer ${KEY}`;
    deps.outputs.setOutput('results', said);
    deps.outputs.saveState('task_id', said);
    await deps.writeSummary(said);
    deps.fail(said);
    deps.log.info(said);
    deps.log.warning(said, { transient: true });
    deps.log.debug(said);
    expect(seen).toEqual([
      `mask ${KEY}`,
      'output results said Bearer ***',
      'state task_id said Bearer ***',
      'summary said Bearer ***',
      'fail said Bearer ***',
      'info said Bearer ***',
      'warning said Bearer *** true',
      'debug said Bearer ***',
    ]);
    expect(redactor.redact(KEY)).toBe(REDACTED);
  });
});
