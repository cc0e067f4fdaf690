/**
 * The onode: everything the store knows about one object except its omap entries.
 *
 *   sizeBytes   logical size
 *   units[i]    physical unit holding bytes [i*32KiB, (i+1)*32KiB) of the object, or HOLE (-1)
 *   csums[i]    xxhash64 of that whole physical unit (bytes past sizeBytes are zero)
 *   attrs       xattrs (small; kept inline because every read of the object wants them anyway)
 *   omap        true if the object may have omap entries (skips a range scan on remove)
 *
 * `units.length === ceil(sizeBytes / unitSizeBytes)`: no unit lies past the end of the object.
 * Encoded with msgpack as [formatVersion, sizeBytes, unitsLE, csumsLE, [[name, value]...], omap].
 * Onodes are immutable once shared with the committed state: transactions modify copies.
 */
import { Packr } from 'msgpackr';
import { endianness } from 'node:os';
import { assert, NacreError } from '@nacre/util';
import { objectSizeBytesMax, unitSizeBytes } from './limits.js';

export const HOLE = -1;
export const onodeFormatVersion = 1;

// Typed arrays are encoded as their raw bytes; little-endian hosts only (x64, arm64).
assert(endianness() === 'LE', 'BlockStore needs a little-endian host');

const packr = new Packr({ useRecords: false, moreTypes: false });

export class Onode {
  constructor(
    public sizeBytes: number,
    public units: Int32Array,
    public csums: BigUint64Array,
    public attrs: Map<string, Buffer>,
    public omap: boolean,
  ) {}

  static empty(): Onode {
    return new Onode(0, new Int32Array(0), new BigUint64Array(0), new Map(), false);
  }

  /** A copy a transaction may modify. */
  copy(): Onode {
    return new Onode(this.sizeBytes, this.units.slice(), this.csums.slice(), new Map(this.attrs), this.omap);
  }

  get unitCount(): number {
    return this.units.length;
  }

  /** Grow or shrink the extent map to cover `sizeBytes` (new slots are holes). */
  resizeMap(sizeBytes: number): void {
    const count = unitCountFor(sizeBytes);
    if (count === this.units.length) return;
    const units = new Int32Array(count).fill(HOLE);
    const csums = new BigUint64Array(count);
    const keep = Math.min(count, this.units.length);
    units.set(this.units.subarray(0, keep));
    csums.set(this.csums.subarray(0, keep));
    this.units = units;
    this.csums = csums;
  }

  /** Bytes of units referenced (holes excluded). */
  allocatedBytes(): number {
    let n = 0;
    for (const u of this.units) if (u !== HOLE) n++;
    return n * unitSizeBytes;
  }

  encode(): Buffer {
    this.check();
    const attrs: Array<[string, Buffer]> = [...this.attrs];
    return packr.pack([
      onodeFormatVersion,
      this.sizeBytes,
      Buffer.from(this.units.buffer, this.units.byteOffset, this.units.byteLength),
      Buffer.from(this.csums.buffer, this.csums.byteOffset, this.csums.byteLength),
      attrs,
      this.omap,
    ]);
  }

  static decode(bytes: Uint8Array): Onode {
    let fields: unknown;
    try {
      fields = packr.unpack(bytes);
    } catch (cause) {
      throw new NacreError('undecodable onode', { code: 'EIO', cause });
    }
    const bad = (why: string): never => { throw new NacreError(`malformed onode: ${why}`, { code: 'EIO' }); };
    if (!Array.isArray(fields) || fields.length !== 6) return bad('shape');
    const [version, sizeBytes, unitBytes, csumBytes, attrList, omap] = fields as unknown[];
    if (version !== onodeFormatVersion) return bad(`format version ${String(version)}`);
    if (typeof sizeBytes !== 'number' || !Number.isSafeInteger(sizeBytes) || sizeBytes < 0 || sizeBytes > objectSizeBytesMax) return bad('size');
    if (!(unitBytes instanceof Uint8Array) || !(csumBytes instanceof Uint8Array)) return bad('extent map');
    const count = unitCountFor(sizeBytes);
    if (unitBytes.length !== count * 4 || csumBytes.length !== count * 8) return bad('extent map length');
    const units = new Int32Array(count);
    new Uint8Array(units.buffer).set(unitBytes);
    const csums = new BigUint64Array(count);
    new Uint8Array(csums.buffer).set(csumBytes);
    if (!Array.isArray(attrList)) return bad('attrs');
    const attrs = new Map<string, Buffer>();
    for (const entry of attrList as unknown[]) {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !(entry[1] instanceof Uint8Array)) return bad('attr');
      const value = entry[1] as Uint8Array;
      attrs.set(entry[0], Buffer.from(value.buffer, value.byteOffset, value.length));
    }
    if (typeof omap !== 'boolean') return bad('omap flag');
    return new Onode(sizeBytes, units, csums, attrs, omap);
  }

  /** Invariants asserted right before the onode is written. */
  check(): void {
    assert(Number.isSafeInteger(this.sizeBytes) && this.sizeBytes >= 0 && this.sizeBytes <= objectSizeBytesMax, 'onode size out of range');
    assert(this.units.length === unitCountFor(this.sizeBytes), 'onode extent map does not match its size');
    assert(this.csums.length === this.units.length, 'onode checksum list does not match its extent map');
  }
}

export function unitCountFor(sizeBytes: number): number {
  return Math.ceil(sizeBytes / unitSizeBytes);
}
