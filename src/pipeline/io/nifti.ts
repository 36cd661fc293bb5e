// NIfTI-1 (.nii, .nii.gz) read and write. NIfTI stores RAS world coordinates; Volumes are LPS, so the
// conversion (negate x and y) happens here and nowhere else. Written files carry the same sform and qform,
// as dcm2niix and nibabel write them.
import fs from 'node:fs';
import zlib from 'node:zlib';
import { type Affine, gridFromAffine, indexToWorld, multiply } from '../space/geometry.js';
import { type Vec3, type Volume, type VoxelArray, voxelCount } from '../space/volume.js';

const LPS_FROM_RAS: Affine = [-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

const DATATYPES: Record<number, { bytes: number; read: (v: DataView, o: number, le: boolean) => number; name: string }> = {
  2: { bytes: 1, read: (v, o) => v.getUint8(o), name: 'uint8' },
  4: { bytes: 2, read: (v, o, le) => v.getInt16(o, le), name: 'int16' },
  8: { bytes: 4, read: (v, o, le) => v.getInt32(o, le), name: 'int32' },
  16: { bytes: 4, read: (v, o, le) => v.getFloat32(o, le), name: 'float32' },
  64: { bytes: 8, read: (v, o, le) => v.getFloat64(o, le), name: 'float64' },
  256: { bytes: 1, read: (v, o) => v.getInt8(o), name: 'int8' },
  512: { bytes: 2, read: (v, o, le) => v.getUint16(o, le), name: 'uint16' },
  768: { bytes: 4, read: (v, o, le) => v.getUint32(o, le), name: 'uint32' },
};

export interface NiftiReadOptions {
  /** Which 3D volume of a 4D file to read (default 0). */
  volumeIndex?: number;
}

export function isNiftiPath(path: string): boolean {
  return /\.nii(\.gz)?$/i.test(path);
}

/** Reads a NIfTI-1 file into a Float32 volume with scl_slope/scl_inter applied, in patient LPS. */
export function readNifti(path: string, options: NiftiReadOptions = {}): Volume<Float32Array> {
  let bytes = fs.readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = zlib.gunzipSync(bytes);
  return parseNifti(bytes, path, options);
}

export function parseNifti(bytes: Buffer, name: string, options: NiftiReadOptions = {}): Volume<Float32Array> {
  if (bytes.length < 348) throw new Error(`${name}: too short to be NIfTI (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le = true;
  if (view.getInt32(0, true) !== 348) {
    if (view.getInt32(0, false) !== 348) throw new Error(`${name}: not a NIfTI-1 file (sizeof_hdr is not 348)`);
    le = false;
  }
  const magic = bytes.toString('latin1', 344, 347);
  if (magic !== 'n+1' && magic !== 'ni1') throw new Error(`${name}: unexpected NIfTI magic '${magic}'`);
  if (magic === 'ni1') throw new Error(`${name}: two-file NIfTI (.hdr/.img) is not supported`);
  const dim = Array.from({ length: 8 }, (_, a) => view.getInt16(40 + 2 * a, le));
  const ndim = dim[0];
  if (ndim < 2 || ndim > 7) throw new Error(`${name}: invalid dim[0] = ${ndim}`);
  const dims: Vec3 = [dim[1], Math.max(1, ndim >= 2 ? dim[2] : 1), Math.max(1, ndim >= 3 ? dim[3] : 1)];
  const volumes = ndim >= 4 ? Math.max(1, dim[4]) : 1;
  const volumeIndex = options.volumeIndex ?? 0;
  if (volumeIndex >= volumes) throw new Error(`${name}: has ${volumes} volumes, volume ${volumeIndex} requested`);
  const datatype = view.getInt16(70, le);
  const type = DATATYPES[datatype];
  if (!type) throw new Error(`${name}: NIfTI datatype ${datatype} is not supported`);
  const pixdim = Array.from({ length: 8 }, (_, a) => view.getFloat32(76 + 4 * a, le));
  const voxOffset = Math.round(view.getFloat32(108, le));
  let slope = view.getFloat32(112, le);
  const inter = view.getFloat32(116, le);
  if (!Number.isFinite(slope) || slope === 0) slope = 1;
  const n = dims[0] * dims[1] * dims[2];
  const start = voxOffset + volumeIndex * n * type.bytes;
  if (start + n * type.bytes > bytes.length) throw new Error(`${name}: voxel data is shorter than the header declares`);
  const data = new Float32Array(n);
  for (let v = 0, o = start; v < n; v++, o += type.bytes) data[v] = type.read(view, o, le) * slope + (Number.isFinite(inter) ? inter : 0);

  const qformCode = view.getInt16(252, le);
  const sformCode = view.getInt16(254, le);
  let ras: Affine;
  if (sformCode > 0) {
    ras = [...[280, 296, 312].flatMap((row) => [0, 1, 2, 3].map((c) => view.getFloat32(row + 4 * c, le))), 0, 0, 0, 1];
  } else if (qformCode > 0) {
    ras = qformToAffine(
      [view.getFloat32(256, le), view.getFloat32(260, le), view.getFloat32(264, le)],
      [view.getFloat32(268, le), view.getFloat32(272, le), view.getFloat32(276, le)],
      [pixdim[1], pixdim[2], pixdim[3]],
      pixdim[0] < 0 ? -1 : 1,
    );
  } else {
    // Method 1 of the NIfTI standard: no orientation known, voxel sizes only.
    ras = [pixdim[1] || 1, 0, 0, 0, 0, pixdim[2] || 1, 0, 0, 0, 0, pixdim[3] || 1, 0, 0, 0, 0, 1];
  }
  return { ...gridFromAffine(dims, multiply(LPS_FROM_RAS, ras)), data };
}

function qformToAffine(q: Vec3, offset: Vec3, pix: Vec3, qfac: number): Affine {
  const [b, c, d] = q;
  const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const s = [pix[0] || 1, pix[1] || 1, (pix[2] || 1) * qfac];
  return [r[0][0] * s[0], r[0][1] * s[1], r[0][2] * s[2], offset[0], r[1][0] * s[0], r[1][1] * s[1], r[1][2] * s[2], offset[1], r[2][0] * s[0], r[2][1] * s[1], r[2][2] * s[2], offset[2], 0, 0, 0, 1];
}

/** Quaternion (b, c, d) and qfac of a rotation given by its (possibly improper) orthonormal columns. */
function rotationToQuaternion(cols: [Vec3, Vec3, Vec3]): { q: Vec3; qfac: number } {
  const [x, y, zIn] = cols;
  const det = x[0] * (y[1] * zIn[2] - y[2] * zIn[1]) - y[0] * (x[1] * zIn[2] - x[2] * zIn[1]) + zIn[0] * (x[1] * y[2] - x[2] * y[1]);
  const qfac = det < 0 ? -1 : 1;
  const z: Vec3 = [zIn[0] * qfac, zIn[1] * qfac, zIn[2] * qfac];
  // r[row][col]
  const r11 = x[0], r12 = y[0], r13 = z[0];
  const r21 = x[1], r22 = y[1], r23 = z[1];
  const r31 = x[2], r32 = y[2], r33 = z[2];
  let a = r11 + r22 + r33 + 1;
  let b: number, c: number, d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r32 - r23)) / a;
    c = (0.25 * (r13 - r31)) / a;
    d = (0.25 * (r21 - r12)) / a;
  } else {
    const xd = 1 + r11 - (r22 + r33);
    const yd = 1 + r22 - (r11 + r33);
    const zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r12 + r21)) / b;
      d = (0.25 * (r13 + r31)) / b;
      a = (0.25 * (r32 - r23)) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r12 + r21)) / c;
      d = (0.25 * (r23 + r32)) / c;
      a = (0.25 * (r13 - r31)) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r13 + r31)) / d;
      c = (0.25 * (r23 + r32)) / d;
      a = (0.25 * (r21 - r12)) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return { q: [b, c, d], qfac };
}

const DATATYPE_OF: Array<[new (...args: never[]) => VoxelArray, number, number]> = [
  [Uint8Array, 2, 8],
  [Int16Array, 4, 16],
  [Int32Array, 8, 32],
  [Float32Array, 16, 32],
  [Float64Array, 64, 64],
  [Uint16Array, 512, 16],
];

export interface NiftiWriteOptions {
  /** NIFTI_XFORM code of the world space: 1 scanner-based (default), 4 MNI-152. */
  xformCode?: number;
  description?: string;
}

export function encodeNifti(volume: Volume, options: NiftiWriteOptions = {}): Buffer {
  const entry = DATATYPE_OF.find(([ctor]) => volume.data instanceof ctor);
  if (!entry) throw new Error('unsupported voxel type for NIfTI');
  const [, datatype, bitpix] = entry;
  const n = voxelCount(volume);
  const header = Buffer.alloc(352);
  const v = new DataView(header.buffer, header.byteOffset, header.byteLength);
  v.setInt32(0, 348, true);
  header.writeUInt8('r'.charCodeAt(0), 38); // regular = 'r', as every writer sets it
  const dim = [3, volume.dims[0], volume.dims[1], volume.dims[2], 1, 1, 1, 1];
  dim.forEach((d, a) => v.setInt16(40 + 2 * a, d, true));
  v.setInt16(70, datatype, true);
  v.setInt16(72, bitpix, true);
  const ras = multiply(LPS_FROM_RAS, indexToWorld(volume));
  const cols: [Vec3, Vec3, Vec3] = [0, 1, 2].map((a) => {
    const c: Vec3 = [ras[a], ras[4 + a], ras[8 + a]];
    const norm = Math.hypot(...c);
    return [c[0] / norm, c[1] / norm, c[2] / norm];
  }) as [Vec3, Vec3, Vec3];
  const { q, qfac } = rotationToQuaternion(cols);
  const pixdim = [qfac, volume.spacing[0], volume.spacing[1], volume.spacing[2], 1, 1, 1, 1];
  pixdim.forEach((p, a) => v.setFloat32(76 + 4 * a, p, true));
  v.setFloat32(108, 352, true);
  v.setFloat32(112, 1, true);
  v.setFloat32(116, 0, true);
  header.writeUInt8(2 | 8, 123); // millimetres, seconds
  header.write((options.description ?? 'brainstrip').slice(0, 79), 148, 'latin1');
  const code = options.xformCode ?? 1;
  v.setInt16(252, code, true);
  v.setInt16(254, code, true);
  v.setFloat32(256, q[0], true);
  v.setFloat32(260, q[1], true);
  v.setFloat32(264, q[2], true);
  v.setFloat32(268, ras[3], true);
  v.setFloat32(272, ras[7], true);
  v.setFloat32(276, ras[11], true);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) v.setFloat32(280 + 16 * r + 4 * c, ras[4 * r + c], true);
  header.write('n+1\0', 344, 'latin1');
  const data = Buffer.from(volume.data.buffer, volume.data.byteOffset, n * volume.data.BYTES_PER_ELEMENT);
  return Buffer.concat([header, data]);
}

/** Writes .nii or, for a path ending in .gz, .nii.gz. */
export function writeNifti(path: string, volume: Volume, options: NiftiWriteOptions = {}): void {
  const raw = encodeNifti(volume, options);
  fs.writeFileSync(path, path.toLowerCase().endsWith('.gz') ? zlib.gzipSync(raw, { level: 6 }) : raw);
}
