/**
 * Frames of digital silence, to pad a soundtrack that ends before the picture without re-encoding:
 * the padding is the same codec, in the same configuration, as the frames before it.
 */

/** AAC-LC (object type 2) frames of silence, for mono and stereo; undefined for other layouts. */
export function silentAacFrame(audioSpecificConfig: Uint8Array): Uint8Array | undefined {
  if (audioSpecificConfig.length < 2) return undefined;
  const objectType = audioSpecificConfig[0]! >> 3;
  const frequencyIndex = ((audioSpecificConfig[0]! & 0x07) << 1) | (audioSpecificConfig[1]! >> 7);
  const channels = (audioSpecificConfig[1]! >> 3) & 0x0f;
  // An explicit frequency (index 15) moves the channel bits; SBR/PS (HE-AAC) frames carry more than this.
  if (objectType !== 2 || frequencyIndex === 15) return undefined;
  if (channels === 1) return silentElements([singleChannel()]);
  if (channels === 2) return silentElements([channelPair()]);
  return undefined;
}

/**
 * An MPEG audio frame of silence in the stream's own format: `template`'s header (CRC off) and zeros,
 * which is zero side info (no bits borrowed from earlier frames, no coded lines) and nothing to play.
 */
export function silentMp3Frame(template: Uint8Array): Uint8Array | undefined {
  if (template.length < 4 || template[0] !== 0xff || (template[1]! & 0xe0) !== 0xe0) return undefined;
  const frame = new Uint8Array(template.length);
  frame.set(template.subarray(0, 4));
  frame[1] = frame[1]! | 0x01; // protection_absent: no CRC to keep right
  return frame;
}

// ---- AAC raw data blocks (ISO/IEC 14496-3, 4.4.2)

type Bits = [value: number, width: number][];

/** ics_info of a long window with one scale factor band and no prediction. */
const ICS_INFO: Bits = [
  [0, 1], // ics_reserved_bit
  [0, 2], // window_sequence: ONLY_LONG_SEQUENCE
  [0, 1], // window_shape
  [1, 6], // max_sfb
  [0, 1], // predictor_data_present
];

/** One channel's stream: a gain, the band coded by the zero codebook, no pulse, TNS or gain control. */
const SILENT_CHANNEL: Bits = [
  [100, 8], // global_gain
  [0, 4], // sect_cb: ZERO_HCB (no scale factors, no spectral data follow)
  [1, 5], // sect_len
  [0, 1], // pulse_data_present
  [0, 1], // tns_data_present
  [0, 1], // gain_control_data_present
];

function singleChannel(): Bits {
  const [gain, ...rest] = SILENT_CHANNEL;
  return [[0, 3], [0, 4], gain!, ...ICS_INFO, ...rest]; // ID_SCE, instance 0
}

function channelPair(): Bits {
  // ID_CPE, instance 0, common_window, its ics_info, ms_mask_present 0, then both channels.
  return [[1, 3], [0, 4], [1, 1], ...ICS_INFO, [0, 2], ...SILENT_CHANNEL, ...SILENT_CHANNEL];
}

function silentElements(elements: Bits[]): Uint8Array {
  const fields: Bits = [...elements.flat(), [7, 3]]; // ID_END
  const width = fields.reduce((sum, [, bits]) => sum + bits, 0);
  const bytes = new Uint8Array(Math.ceil(width / 8));
  let position = 0;
  for (const [value, bits] of fields)
    for (let bit = bits - 1; bit >= 0; bit--, position++)
      if ((value >> bit) & 1) bytes[position >> 3]! |= 0x80 >> (position & 7);
  return bytes;
}
