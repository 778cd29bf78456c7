// Frames of silence for padding a soundtrack, in the codec and configuration of the frames before them.
import { describe, expect, it } from 'vitest';
import { silentAacFrame, silentMp3Frame } from '../../../src/media/silence.ts';
import { buildMp3, SILENT_AAC_MONO } from '../../emulator/media.ts';

/** AudioSpecificConfig: object type (5 bits), frequency index (4), channel configuration (4). */
const asc = (objectType: number, frequencyIndex: number, channels: number) => {
  const bits = (objectType << 11) | (frequencyIndex << 7) | (channels << 3);
  return new Uint8Array([bits >> 8, bits & 0xff]);
};

describe('silentAacFrame', () => {
  it('makes the AAC-LC mono frame players and packagers use for silence, at any sample rate', () => {
    for (const frequencyIndex of [3, 4, 8])
      // 48, 44.1 and 16 kHz
      expect(Buffer.from(silentAacFrame(asc(2, frequencyIndex, 1))!)).toEqual(SILENT_AAC_MONO);
  });

  it('makes a stereo frame: a channel pair with a common window, both channels silent, then END', () => {
    const frame = silentAacFrame(asc(2, 3, 2))!;
    // 001 (CPE) 0000 (instance) 1 (common window) 0 00 0 000001 0 (ics_info) 00 (no M/S) …
    expect(frame[0]).toBe(0b0010_0001);
    expect(Buffer.from(frame).toString('hex')).toBe('2100432004320047');
    expect(frame.at(-1)! & 0b111).toBe(0b111); // ID_END, byte-aligned with nothing after it
  });

  it('makes none for what a plain frame cannot stand in for: HE-AAC, surround, an explicit frequency', () => {
    expect(silentAacFrame(asc(5, 3, 2))).toBeUndefined();
    expect(silentAacFrame(asc(2, 3, 6))).toBeUndefined();
    expect(silentAacFrame(new Uint8Array([0x17, 0x80, 0, 0, 0]))).toBeUndefined();
    expect(silentAacFrame(new Uint8Array())).toBeUndefined();
  });
});

describe('silentMp3Frame', () => {
  it('keeps the stream’s header (CRC off) and zeroes the rest: no borrowed bits, no coded lines', () => {
    const mp3 = buildMp3('1', 1);
    const tag = 10 + ((mp3[6]! << 21) | (mp3[7]! << 14) | (mp3[8]! << 7) | mp3[9]!);
    const frame = silentMp3Frame(mp3.subarray(tag, tag + 384))!;
    expect(frame).toHaveLength(384);
    expect([...frame.subarray(0, 4)]).toEqual([0xff, 0xfb, 0x94, 0xc4]);
    expect(frame.subarray(4).every((byte) => byte === 0)).toBe(true);
    expect(silentMp3Frame(new Uint8Array([0x49, 0x44, 0x33, 0]))).toBeUndefined(); // not a frame header
  });
});
