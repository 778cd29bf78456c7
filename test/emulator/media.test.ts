/**
 * The emulator's media are files a person can play and hear, checked without ffmpeg: the WAV's
 * samples, the MP3's frame headers and side info, the MP4's boxes down to the sample tables.
 * (ffprobe and ffmpeg's volumedetect agree; see fixtures/make.sh for how the loops were made.)
 */
import { describe, expect, it } from 'vitest';
import { childBox as child, readBoxes as boxes, readMovieRecord, type Box } from '../support/iso-box.ts';
import { QUARTER_TURN } from '../support/mp4.ts';
import { buildMp3, buildMp4, buildVideo, buildWav, mp3DurationSeconds } from './media.ts';

const TASK = '860000000000000001';

/** The WAV's 16-bit samples, as numbers in [-1, 1). */
function pcm(wav: Buffer): number[] {
  return Array.from({ length: (wav.length - 44) / 2 }, (_, i) => wav.readInt16LE(44 + i * 2) / 32768);
}

describe('WAV', () => {
  it('is audible all through: every 0.24 s note is loud, none is silent', () => {
    const wav = buildWav(TASK, 5);
    const samples = pcm(wav);
    const rms = (from: number, to: number) => {
      let sum = 0;
      for (let i = from; i < to; i++) sum += samples[i]! ** 2;
      return Math.sqrt(sum / (to - from));
    };
    expect(rms(0, samples.length)).toBeGreaterThan(0.1); // about -15 dBFS
    for (let note = 0; note + 1920 <= samples.length; note += 1920)
      expect(rms(note, note + 1920)).toBeGreaterThan(0.05);
    expect(samples.reduce((peak, sample) => Math.max(peak, Math.abs(sample)), 0)).toBeLessThan(0.99); // no clipping
  });

  it('plays an arpeggio of four rising notes', () => {
    const samples = pcm(buildWav(TASK, 0.96));
    // Zero crossings in the first 0.1 s of each note: twice the pitch, roughly.
    const pitches = [0, 1, 2, 3].map((note) => {
      let crossings = 0;
      for (let i = note * 1920 + 1; i < note * 1920 + 800; i++)
        if (samples[i - 1]! < 0 !== samples[i]! < 0) crossings++;
      return crossings / 2 / 0.1;
    });
    for (let note = 1; note < 4; note++) expect(pitches[note]).toBeGreaterThan(pitches[note - 1]! * 1.1);
    expect(pitches[3]! / pitches[0]!).toBeCloseTo(2, 0); // an octave
  });
});

describe('MP3', () => {
  it('is self-contained 128 kbps frames that carry sound', () => {
    const mp3 = buildMp3(TASK, 5);
    const tagSize = 10 + ((mp3[6]! << 21) | (mp3[7]! << 14) | (mp3[8]! << 7) | mp3[9]!);
    expect(mp3.subarray(10, tagSize).toString('latin1')).toContain(`Kling emulator ${TASK}`);
    const frames = mp3.subarray(tagSize);
    expect(frames.length / 384).toBe(Math.round(mp3DurationSeconds(5) / 0.024));
    for (let offset = 0; offset < frames.length; offset += 384) {
      expect(frames.readUInt32BE(offset)).toBe(0xfffb94c4);
      // Mono MPEG-1 side info: main_data_begin (9 bits), private (5), scfsi (4), then per granule
      // part2_3_length (12) and big_values (9).
      const side = frames.readUInt32BE(offset + 4);
      expect(side >>> 23).toBe(0); // main_data_begin: no bytes borrowed from earlier frames
      const part23Length = (side >>> 2) & 0xfff;
      const bigValues = ((side & 0b11) << 7) | (frames[offset + 8]! >> 1);
      expect(part23Length).toBeGreaterThan(100); // bits of audio, not a silent frame
      expect(bigValues).toBeGreaterThan(0); // non-zero spectral lines
    }
  });
});

const uint32s = (box: Box, skip: number) =>
  Array.from({ length: (box.body.length - skip) / 4 }, (_, i) => box.body.readUInt32BE(skip + i * 4));

describe('MP4', () => {
  const seconds = 5;
  const mp4 = buildMp4(TASK, seconds);
  const top = boxes(mp4);
  const moov = top.find((b) => b.type === 'moov')!;
  const mdat = top.find((b) => b.type === 'mdat')!;
  const traks = boxes(moov.body, moov.start + 8).filter((b) => b.type === 'trak');
  const trak = (handler: string) =>
    traks.find((t) => child(t, 'mdia/hdlr').body.subarray(8, 12).toString('latin1') === handler)!;

  it('is ftyp, moov (first, to play while downloading), mdat; with a title naming the task', () => {
    expect(top.map((b) => b.type)).toEqual(['ftyp', 'moov', 'mdat']);
    expect(child(moov, 'udta/\u00a9nam').body.toString('latin1')).toContain(`video for task ${TASK}`);
    const mvhd = child(moov, 'mvhd').body;
    expect(mvhd.readUInt32BE(16) / mvhd.readUInt32BE(12)).toBeCloseTo(seconds, 1);
    expect(traks).toHaveLength(2);
  });

  it('has an H.264 video track and an AAC audio track, each as long as asked', () => {
    const video = trak('vide');
    const avc1 = child(video, 'mdia/minf/stbl/stsd/avc1');
    expect([avc1.body.readUInt16BE(24), avc1.body.readUInt16BE(26)]).toEqual([192, 108]);
    expect(child(avc1, 'avcC').body[1]).toBe(66); // profile: Baseline
    const audio = trak('soun');
    const mp4a = child(audio, 'mdia/minf/stbl/stsd/mp4a');
    expect([mp4a.body.readUInt16BE(16), mp4a.body.readUInt32BE(24) >>> 16]).toEqual([1, 48_000]);
    const esds = child(mp4a, 'esds').body;
    expect(esds.includes(Buffer.from([0x05, 0x02, 0x11, 0x88]))).toBe(true); // AAC-LC, 48 kHz, mono
    for (const track of [video, audio]) {
      const mdhd = child(track, 'mdia/mdhd').body;
      expect(mdhd.readUInt32BE(16) / mdhd.readUInt32BE(12)).toBeGreaterThanOrEqual(seconds);
      expect(mdhd.readUInt32BE(16) / mdhd.readUInt32BE(12)).toBeLessThan(seconds + 0.05);
    }
  });

  it('has sample tables that account for every byte of mdat, key frames where the GOPs start', () => {
    let covered = 0;
    for (const track of traks) {
      const stbl = child(track, 'mdia/minf/stbl');
      const sizes = uint32s(child(stbl, 'stsz'), 12);
      const offsets = uint32s(child(stbl, 'stco'), 8);
      const stsc = uint32s(child(stbl, 'stsc'), 8);
      const perChunk = offsets.map((_, chunk) => {
        let count = 0;
        for (let e = 0; e < stsc.length; e += 3) if (stsc[e]! - 1 <= chunk) count = stsc[e + 1]!;
        return count;
      });
      expect(perChunk.reduce((a, b) => a + b, 0)).toBe(sizes.length);
      let sample = 0;
      offsets.forEach((offset, chunk) => {
        for (let i = 0; i < perChunk[chunk]!; i++, sample++) {
          expect(offset).toBeGreaterThanOrEqual(mdat.start + 8);
          offset += sizes[sample]!;
          expect(offset).toBeLessThanOrEqual(mdat.end);
        }
      });
      covered += sizes.reduce((a, b) => a + b, 0);
      if (track === trak('vide')) {
        expect(uint32s(child(stbl, 'stss'), 8)).toEqual([1, 25, 49, 73, 97, 121]);
        // Each sample is length-prefixed NAL units; the first is an IDR slice.
        expect(mp4.readUInt32BE(offsets[0]) + 4).toBe(sizes[0]);
        expect(mp4[offsets[0]! + 4]! & 0x1f).toBe(5);
      } else {
        // Silent AAC frames take a few bytes; these carry the music.
        expect(Math.min(...sizes)).toBeGreaterThan(50);
      }
    }
    expect(covered).toBe(mdat.end - mdat.start - 8);
  });
});

describe('source videos (buildVideo)', () => {
  it('grows frames to about frameBytes with a filler-data NAL unit after the slice, which decoders skip', () => {
    const small = readMovieRecord(buildVideo({ seconds: 1 }));
    const file = buildVideo({ seconds: 1, frameBytes: 10_000 });
    const large = readMovieRecord(file);
    const [before, after] = [small.tracks[0]!, large.tracks[0]!];
    expect(after.samples.map((s) => s.size)).toEqual(before.samples.map(() => 10_000));
    for (const [i, sample] of after.samples.entries()) {
      const slice = before.samples[i]!.size;
      const filler = file.subarray(sample.offset + slice, sample.offset + sample.size);
      expect(filler.readUInt32BE(0)).toBe(filler.length - 4); // its length prefix
      expect(filler[4]).toBe(0x0c); // nal_unit_type 12: filler data
      expect(filler.subarray(5, -1).every((byte) => byte === 0xff)).toBe(true);
      expect(filler.at(-1)).toBe(0x80); // rbsp stop bit
    }
  });

  it('gives a source its own sound (silence) or none, and keeps layout, brand and matrix as asked', () => {
    const mov = readMovieRecord(
      buildVideo({ seconds: 2, audio: 'silence', brand: 'qt  ', layout: 'moov-last', matrix: QUARTER_TURN }),
    );
    expect(mov).toMatchObject({ brand: 'qt  ', top: ['ftyp', 'mdat', 'moov'] });
    expect(mov.tracks.map((t) => t.handler)).toEqual(['vide', 'soun']);
    expect(mov.tracks[0]!.matrix.equals(QUARTER_TURN)).toBe(true);
    expect(readMovieRecord(buildVideo({ seconds: 2 })).tracks.map((t) => t.handler)).toEqual(['vide']);
  });
});
