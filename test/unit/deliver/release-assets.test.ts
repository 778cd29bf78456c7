import { describe, expect, it } from 'vitest';
import { uploadHostProblem } from '../../../src/deliver/release-assets.ts';

describe("uploadHostProblem: the token goes only to GitHub's upload host", () => {
  it('accepts uploads.<host> beside api.<host>, and the API host itself (GHES, loopback fakes)', () => {
    expect(() =>
      uploadHostProblem(
        'https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}',
        'https://api.github.com',
      ),
    ).not.toThrow();
    expect(() =>
      uploadHostProblem(
        'https://ghe.example.com/api/uploads/repos/o/r/releases/1/assets{?name,label}',
        'https://ghe.example.com/api/v3',
      ),
    ).not.toThrow();
    expect(() =>
      uploadHostProblem(
        'http://127.0.0.1:4002/repos/o/r/releases/1/assets{?name,label}',
        'http://127.0.0.1:4001',
      ),
    ).not.toThrow();
  });

  it('refuses any other host, or a downgrade to http', () => {
    expect(() =>
      uploadHostProblem('https://evil.example.com/steal{?name}', 'https://api.github.com'),
    ).toThrow(/evil\.example\.com/);
    expect(() => uploadHostProblem('http://uploads.github.com/x{?name}', 'https://api.github.com')).toThrow(
      /not GitHub's upload host/,
    );
    expect(() => uploadHostProblem('not a url', 'https://api.github.com')).toThrow(/no upload URL/);
  });
});
