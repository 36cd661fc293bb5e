// The QC picture a person glances at: axial, coronal and sagittal slices through the centre of the mask, in
// patient orientation whatever the acquisition (radiological convention: the patient's right on the image's
// left; anterior up in axial, superior up in coronal and sagittal, anterior on the left in sagittal), with the
// mask outline in red. Slices are resampled through geometry.ts, so an oblique or prone series looks like any
// other. The PNG encoder is the minimum the format needs (RGB, 8 bit, one zlib stream).
import zlib from 'node:zlib';
import { cornerPoints, cross, gridCentre, maskCentroid } from '../space/geometry.js';
import { resample } from '../space/resample.js';
import { type Grid, type Vec3, type Volume, gridOf } from '../space/volume.js';

export interface QcOptions {
  /** Longest side of each view in pixels (default 256). */
  viewSize?: number;
}

interface View {
  width: number;
  height: number;
  grey: Uint8Array;
  mask: Uint8Array;
}

const VIEWS: Array<{ name: string; col: Vec3; row: Vec3; fixed: 0 | 1 | 2 }> = [
  { name: 'axial', col: [1, 0, 0], row: [0, 1, 0], fixed: 2 },
  { name: 'coronal', col: [1, 0, 0], row: [0, 0, -1], fixed: 1 },
  { name: 'sagittal', col: [0, 1, 0], row: [0, 0, -1], fixed: 0 },
];

function window(data: Float32Array): [number, number] {
  const step = Math.max(1, Math.floor(data.length / 200_000));
  const sample: number[] = [];
  for (let v = 0; v < data.length; v += step) sample.push(data[v]);
  sample.sort((a, b) => a - b);
  const lo = sample[Math.floor(0.01 * (sample.length - 1))];
  const hi = sample[Math.floor(0.995 * (sample.length - 1))];
  return [lo, hi > lo ? hi : lo + 1];
}

function renderView(image: Volume<Float32Array>, mask: Volume<Uint8Array>, centre: Vec3, view: (typeof VIEWS)[number], size: number, range: [number, number]): View {
  const corners = cornerPoints(image);
  const lo = [0, 1, 2].map((a) => Math.min(...corners.map((c) => c[a])));
  const hi = [0, 1, 2].map((a) => Math.max(...corners.map((c) => c[a])));
  const axisOf = (d: Vec3) => d.findIndex((x) => x !== 0);
  const ca = axisOf(view.col);
  const ra = axisOf(view.row);
  const extentC = hi[ca] - lo[ca];
  const extentR = hi[ra] - lo[ra];
  const pixel = Math.max(Math.max(extentC, extentR) / size, 0.25);
  const width = Math.max(1, Math.round(extentC / pixel) + 1);
  const height = Math.max(1, Math.round(extentR / pixel) + 1);
  const origin: Vec3 = [0, 0, 0];
  origin[ca] = view.col[ca] > 0 ? lo[ca] : hi[ca];
  origin[ra] = view.row[ra] > 0 ? lo[ra] : hi[ra];
  origin[view.fixed] = centre[view.fixed];
  const plane: Grid = { dims: [width, height, 1], spacing: [pixel, pixel, pixel], origin, direction: [view.col, view.row, cross(view.col, view.row)] };
  const img = resample(image, plane, { interpolation: 'linear', fill: range[0] });
  const m = resample(mask, plane, { interpolation: 'nearest', fill: 0 });
  const grey = new Uint8Array(width * height);
  for (let p = 0; p < grey.length; p++) grey[p] = Math.max(0, Math.min(255, Math.round(((img.data[p] - range[0]) / (range[1] - range[0])) * 255)));
  return { width, height, grey, mask: m.data as Uint8Array };
}

export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** Outline colours: the mask in red, a reference mask (when given) in green. */
const OUTLINE: Array<[number, number, number]> = [
  [255, 32, 32],
  [40, 230, 40],
];

/**
 * Three orthogonal views of `image` through the centre of `masks[0]`, with the outline of each mask (same grid
 * as the image) drawn over it.
 */
export function qcViews(image: Volume<Float32Array>, masks: Array<Volume<Uint8Array>>, options: QcOptions = {}): RgbImage {
  const size = options.viewSize ?? 256;
  const centre = maskCentroid(masks[0], gridCentre(masks[0]));
  const range = window(image.data);
  const views = VIEWS.map((view) => masks.map((mask) => renderView(image, { ...gridOf(image), data: mask.data }, centre, view, size, range)));
  const gap = 4;
  const width = views.reduce((s, v) => s + v[0].width, 0) + gap * (views.length - 1);
  const height = Math.max(...views.map((v) => v[0].height));
  const rgb = new Uint8Array(width * height * 3);
  let x0 = 0;
  for (const layers of views) {
    const v = layers[0];
    for (let y = 0; y < v.height; y++) {
      for (let x = 0; x < v.width; x++) {
        const p = y * v.width + x;
        const o = (y * width + x0 + x) * 3;
        rgb[o] = rgb[o + 1] = rgb[o + 2] = v.grey[p];
        // the reference underneath, the mask on top
        for (let m = layers.length - 1; m >= 0; m--) {
          const mask = layers[m].mask;
          const edge =
            mask[p] !== 0 &&
            (x === 0 || y === 0 || x === v.width - 1 || y === v.height - 1 || !mask[p - 1] || !mask[p + 1] || !mask[p - v.width] || !mask[p + v.width]);
          if (edge) [rgb[o], rgb[o + 1], rgb[o + 2]] = OUTLINE[Math.min(m, OUTLINE.length - 1)];
        }
      }
    }
    x0 += v.width + gap;
  }
  return { width, height, rgb };
}

/** Three orthogonal views of `image` with the outline of `mask` (same grid), as a PNG. */
export function qcPng(image: Volume<Float32Array>, mask: Volume<Uint8Array>, options: QcOptions = {}): Buffer {
  const { width, height, rgb } = qcViews(image, [mask], options);
  return encodePng(width, height, rgb);
}

/** Rows stacked top to bottom (left-aligned, black where a row is narrower), with a gap between them. */
export function stackRows(rows: RgbImage[], gap = 4): RgbImage {
  const width = Math.max(1, ...rows.map((r) => r.width));
  const height = Math.max(1, rows.reduce((s, r) => s + r.height, 0) + gap * Math.max(0, rows.length - 1));
  const rgb = new Uint8Array(width * height * 3);
  let y0 = 0;
  for (const r of rows) {
    for (let y = 0; y < r.height; y++) rgb.set(r.rgb.subarray(y * r.width * 3, (y + 1) * r.width * 3), ((y0 + y) * width) * 3);
    y0 += r.height + gap;
  }
  return { width, height, rgb };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const body = Buffer.concat([head.subarray(4), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body), 0);
  return Buffer.concat([head.subarray(0, 4), body, crc]);
}

/** 8-bit RGB PNG, filter 0 on every row. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  if (rgb.length !== width * height * 3) throw new Error(`PNG: ${rgb.length} bytes for ${width}×${height} RGB`);
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0;
    Buffer.from(rgb.buffer, rgb.byteOffset + y * width * 3, width * 3).copy(raw, y * (width * 3 + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}


