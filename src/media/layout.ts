/**
 * The top-level boxes of a local MP4/MOV, walked by their headers alone: where moov is, whether the
 * file is fragmented (mvex in moov, or moof boxes), whether it ends inside a box (truncated).
 */
import type { FileHandle } from 'node:fs/promises';

export interface FileLayout {
  bytes: number;
  /** Top-level box types, in order (at most `maxBoxes`). */
  boxes: string[];
  fragmented: boolean;
  /** The first box past ftyp that matters is moov: a player can start before the file is complete. */
  moovFirst: boolean;
  /** The largest moov box, header included: the reader holds it whole. */
  moovBytes: number;
}

export type LayoutRead = { ok: true; layout: FileLayout } | { ok: false; truncated: boolean; reason: string };

export async function readLayout(file: FileHandle, maxBoxes: number): Promise<LayoutRead> {
  const { size } = await file.stat();
  const header = Buffer.alloc(16);
  const boxes: string[] = [];
  let fragmented = false;
  let moovBytes = 0;
  for (let position = 0; position < size;) {
    if (boxes.length >= maxBoxes)
      return { ok: false, truncated: false, reason: `it has more than ${maxBoxes} top-level boxes` };
    const { bytesRead } = await file.read(header, 0, 16, position);
    if (bytesRead < 8) return cut(`the file ends inside the header of a box at byte ${position}`);
    const type = header.toString('latin1', 4, 8);
    let length = header.readUInt32BE(0);
    if (length === 1) {
      if (bytesRead < 16) return cut(`the file ends inside the header of a box at byte ${position}`);
      length = Number(header.readBigUInt64BE(8));
    } else if (length === 0) length = size - position;
    if (length < 8)
      return { ok: false, truncated: false, reason: `a box at byte ${position} declares ${length} bytes` };
    if (position + length > size)
      return cut(`the file ends inside its ${printable(type)} box (${size - position} of ${length} bytes)`);
    boxes.push(type);
    if (type === 'moof') fragmented = true;
    if (type === 'moov') {
      moovBytes = Math.max(moovBytes, length);
      if (await hasChild(file, position, length, 'mvex')) fragmented = true;
    }
    position += length;
  }
  const firstMedia = boxes.find((type) => type === 'moov' || type === 'mdat' || type === 'moof');
  return {
    ok: true,
    layout: { bytes: size, boxes, fragmented, moovFirst: firstMedia === 'moov', moovBytes },
  };
}

/** Whether the box at `start` (`length` bytes, 8-byte header) has a child of `type`. */
async function hasChild(file: FileHandle, start: number, length: number, type: string): Promise<boolean> {
  const header = Buffer.alloc(8);
  for (let position = start + 8; position + 8 <= start + length;) {
    await file.read(header, 0, 8, position);
    if (header.toString('latin1', 4, 8) === type) return true;
    const size = header.readUInt32BE(0);
    if (size < 8) return false; // a 64-bit or to-the-end child: nothing after it to look at
    position += size;
  }
  return false;
}

function cut(reason: string): LayoutRead {
  return { ok: false, truncated: true, reason };
}

/** A box type from the file, shown safely: printable ASCII, anything else as an escape. */
function printable(type: string): string {
  return type.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
