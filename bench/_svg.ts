/**
 * The chart of a run as an SVG document, built as plain strings: one panel
 * per traffic type, delivered against offered packets per second, one line
 * per forwarder and the dashed diagonal where nothing is lost.
 * @module
 */

import type { ForwarderName } from "./_options.ts";
import type { SweepResult } from "./_report.ts";

const COLORS: Record<ForwarderName, string> = {
  kernel: "#2b8a3e",
  c: "#1c7ed6",
  dsr: "#e8590c",
};
const LABELS: Record<ForwarderName, string> = {
  kernel: "kernel (tc BPF)",
  c: "C libpcap",
  dsr: "dsr",
};

const PANEL = { w: 460, h: 360, left: 64, right: 16, top: 40, bottom: 48 };

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A round axis maximum and tick step above `max`. */
function axis(max: number): { top: number; step: number } {
  const raw = Math.max(max, 1000) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  return { top: Math.ceil(max / step) * step || step, step };
}

const kpps = (v: number) => `${Math.round(v / 1000)}k`;

function panel(x0: number, title: string, sweeps: SweepResult[]): string {
  const all = sweeps.flatMap((s) => [...s.steps, ...s.search]);
  const { top, step } = axis(Math.max(...all.map((s) => Math.max(s.offeredPps, s.deliveredPps))));
  const pw = PANEL.w - PANEL.left - PANEL.right;
  const ph = PANEL.h - PANEL.top - PANEL.bottom;
  const X = (v: number) => (x0 + PANEL.left + (v / top) * pw).toFixed(1);
  const Y = (v: number) => (PANEL.top + ph - (v / top) * ph).toFixed(1);
  const parts: string[] = [
    `<text x="${x0 + PANEL.w / 2}" y="22" text-anchor="middle" font-weight="bold">${
      esc(title)
    }</text>`,
  ];
  for (let v = 0; v <= top + 1e-9; v += step) {
    parts.push(
      `<line x1="${X(0)}" y1="${Y(v)}" x2="${X(top)}" y2="${Y(v)}" stroke="#e9ecef"/>`,
      `<line x1="${X(v)}" y1="${Y(0)}" x2="${X(v)}" y2="${Y(top)}" stroke="#e9ecef"/>`,
      `<text x="${Number(X(0)) - 6}" y="${Number(Y(v)) + 4}" text-anchor="end">${kpps(v)}</text>`,
      `<text x="${X(v)}" y="${Number(Y(0)) + 16}" text-anchor="middle">${kpps(v)}</text>`,
    );
  }
  parts.push(
    `<line x1="${X(0)}" y1="${Y(0)}" x2="${X(top)}" y2="${Y(top)}" stroke="#868e96" ` +
      `stroke-dasharray="4 4"/>`,
    `<rect x="${X(0)}" y="${Y(top)}" width="${pw}" height="${ph}" fill="none" stroke="#495057"/>`,
    `<text x="${x0 + PANEL.left + pw / 2}" y="${PANEL.h - 10}" text-anchor="middle">` +
      `offered packets/s</text>`,
    `<text transform="translate(${x0 + 16} ${PANEL.top + ph / 2}) rotate(-90)" ` +
      `text-anchor="middle">delivered packets/s</text>`,
  );
  for (const s of sweeps) {
    const color = COLORS[s.forwarder];
    // Search steps (hollow) sit between the sweep's own steps, in order of target rate.
    const points = [...s.steps, ...s.search].sort((a, b) => a.targetPps - b.targetPps);
    parts.push(
      `<polyline points="${
        points.map((p) => `${X(p.offeredPps)},${Y(p.deliveredPps)}`).join(" ")
      }"` +
        ` fill="none" stroke="${color}" stroke-width="2"/>`,
      ...points.map((p) =>
        `<circle cx="${X(p.offeredPps)}" cy="${Y(p.deliveredPps)}" r="3" ` +
        (s.search.includes(p) ? `fill="white" stroke="${color}"/>` : `fill="${color}"/>`)
      ),
    );
  }
  sweeps.forEach((s, i) => {
    const y = PANEL.top + 14 + i * 16;
    const x = x0 + PANEL.left + 10;
    parts.push(
      `<line x1="${x}" y1="${y - 4}" x2="${x + 18}" y2="${y - 4}" stroke="${
        COLORS[s.forwarder]
      }" stroke-width="2"/>`,
      `<text x="${x + 24}" y="${y}">${esc(LABELS[s.forwarder])}</text>`,
    );
  });
  return parts.join("\n");
}

/**
 * The SVG document of a run.
 * @param caption one line under the panels (machine, step length, date)
 */
export function chart(sweeps: SweepResult[], caption: string): string {
  const types = [...new Set(sweeps.map((s) => s.traffic))];
  const width = PANEL.w * Math.max(1, types.length);
  const height = PANEL.h + 24;
  const panels = types.map((t, i) =>
    panel(i * PANEL.w, `${t}: delivered vs offered`, sweeps.filter((s) => s.traffic === t))
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...panels,
    `<text x="8" y="${height - 8}" fill="#495057" font-size="10">${esc(caption)}</text>`,
    `</svg>`,
    "",
  ].join("\n");
}
