/** ISO BMFF (MP4/MOV) box writing, shared by the emulator's media and the preflight's test files. */

/** A box; the type is Latin-1 (`©nam` is A9 6E 61 6D). */
export function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([uint32(8 + body.length), ascii(type), body]);
}

export function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  return box(type, uint32(((version << 24) | flags) >>> 0), ...payload);
}

export function ascii(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

export function uint16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(value);
  return bytes;
}

/** Negative values wrap (two's complement), as matrices need. */
export function uint32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value >>> 0);
  return bytes;
}

/** The identity matrix of mvhd and tkhd, in 16.16 and 2.30 fixed point. */
export const IDENTITY_MATRIX = Buffer.concat([0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000].map(uint32));
