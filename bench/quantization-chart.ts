// The latency chart of the quantization report as a standalone SVG: one group of bars per variant, one bar per
// thread count, on a logarithmic axis (the PyTorch baseline and the INT8 model differ by well over 10×).

export function latencyChart(rows: Array<{ label: string; byThreads: Record<number, number> }>, threads: number[]): string {
  const colours = ['#4c78a8', '#f58518', '#54a24b'];
  const left = 420;
  const width = 980;
  const barH = 14;
  const groupH = threads.length * barH + 14;
  const top = 40;
  const height = top + rows.length * groupH + 50;
  const all = rows.flatMap((r) => threads.map((t) => r.byThreads[t])).filter((v) => v > 0);
  const lo = Math.floor(Math.log10(Math.min(...all) / 1000));
  const hi = Math.ceil(Math.log10(Math.max(...all) / 1000));
  const x = (ms: number) => left + ((Math.log10(ms / 1000) - lo) / (hi - lo || 1)) * (width - left - 80);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="10" y="20" font-size="14" font-weight="bold">Inference latency per 3D volume (seconds, log scale)</text>`,
  ];
  for (let p = lo; p <= hi; p++) {
    const gx = x(1000 * 10 ** p);
    parts.push(`<line x1="${gx}" y1="${top - 5}" x2="${gx}" y2="${height - 40}" stroke="#ddd"/>`, `<text x="${gx}" y="${height - 25}" text-anchor="middle">${10 ** p} s</text>`);
  }
  rows.forEach((r, i) => {
    const y0 = top + i * groupH;
    parts.push(`<text x="${left - 8}" y="${y0 + (threads.length * barH) / 2 + 4}" text-anchor="end">${esc(r.label)}</text>`);
    threads.forEach((t, j) => {
      const ms = r.byThreads[t];
      const y = y0 + j * barH;
      const x0 = x(1000 * 10 ** lo);
      parts.push(`<rect x="${x0}" y="${y}" width="${Math.max(1, x(ms) - x0)}" height="${barH - 2}" fill="${colours[j % colours.length]}"/>`, `<text x="${x(ms) + 4}" y="${y + barH - 4}">${(ms / 1000).toFixed(3)} s</text>`);
    });
  });
  threads.forEach((t, j) => parts.push(`<rect x="${left + j * 110}" y="${height - 14}" width="10" height="10" fill="${colours[j % colours.length]}"/>`, `<text x="${left + j * 110 + 14}" y="${height - 5}">${t} thread${t === 1 ? '' : 's'}</text>`));
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
