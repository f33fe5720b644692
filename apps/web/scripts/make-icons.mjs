// Draws Parley's app icons (the brand mark: a white speech bubble on teal) as PNGs into
// public/icons. Run after changing the mark: `node apps/web/scripts/make-icons.mjs`.
// Plain Node (zlib): no image library, so the icons can be remade anywhere.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const TEAL = [0x0f, 0x76, 0x6e];
const WHITE = [0xff, 0xff, 0xff];
// The mark from index.html, on a 32-unit grid: M9 10h14v9H15l-4 4v-4H9z
const BUBBLE = [[9, 10], [23, 10], [23, 19], [15, 19], [11, 23], [11, 19], [9, 19]];

const inPolygon = (x, y, poly) => {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
};
const inRoundedSquare = (x, y, r) => {
  const cx = Math.min(Math.max(x, r), 32 - r);
  const cy = Math.min(Math.max(y, r), 32 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
};

/** RGBA pixels; `maskable`: full-bleed background and the mark shrunk into the 80 % safe zone. */
function draw(size, maskable) {
  const px = Buffer.alloc(size * size * 4);
  const S = 4; // 4x4 supersampling
  const scale = maskable ? 0.72 : 1;
  for (let py = 0; py < size; py++) {
    for (let pxl = 0; pxl < size; pxl++) {
      let bg = 0;
      let fg = 0;
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const x = ((pxl + (sx + 0.5) / S) / size) * 32;
          const y = ((py + (sy + 0.5) / S) / size) * 32;
          if (maskable || inRoundedSquare(x, y, 8)) bg++;
          const bx = (x - 16) / scale + 16;
          const by = (y - 16) / scale + 16.5;
          if (inPolygon(bx, by, BUBBLE) && (maskable || inRoundedSquare(x, y, 8))) fg++;
        }
      }
      const n = S * S;
      const a = bg / n;
      const f = bg ? fg / bg : 0;
      const o = (py * size + pxl) * 4;
      for (let c = 0; c < 3; c++) px[o + c] = Math.round(TEAL[c] * (1 - f) + WHITE[c] * f);
      px[o + 3] = Math.round(a * 255);
    }
  }
  return px;
}

const CRC = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
const crc32 = (buf) => {
  let c = -1;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
};
const chunk = (type, data) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
};
function png(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

const out = path.join(import.meta.dirname, '../public/icons');
fs.mkdirSync(out, { recursive: true });
for (const [name, size, maskable] of [['icon-192.png', 192, false], ['icon-512.png', 512, false], ['maskable-512.png', 512, true], ['badge-72.png', 72, false]]) {
  fs.writeFileSync(path.join(out, name), png(size, draw(size, maskable)));
  console.log(`${name}: ${size}x${size}${maskable ? ' maskable' : ''}`);
}
