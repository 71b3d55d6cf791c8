// Small SVG charts: lines over time, stacked and grouped bars, a timeline. Every mark is
// focusable, shows its value on hover or focus, and opens its evidence on click or Enter.
import {byId, h, s} from "./dom.js";

const W = 640;
const M = {left: 58, right: 14, top: 24, bottom: 30};

export function niceTicks(max, count = 4, integer = false) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const nice = [1, 2, 2.5, 5, 10].map((m) => m * power).find((c) => c >= raw);
  const step = integer ? Math.max(1, Math.round(nice)) : nice;
  const ticks = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(+v.toFixed(10));
  if (ticks[ticks.length - 1] < max) ticks.push(+(ticks[ticks.length - 1] + step).toFixed(10));
  return ticks;
}

function showTip(event, text) {
  const tip = byId("tooltip");
  tip.textContent = text;
  tip.hidden = false;
  const box = event.target.getBoundingClientRect();
  const left = Math.min(box.left + box.width / 2 + 8, window.innerWidth - tip.offsetWidth - 8);
  tip.style.left = `${Math.max(4, left)}px`;
  tip.style.top = `${Math.max(4, box.top - tip.offsetHeight - 8)}px`;
}

function hideTip() {
  byId("tooltip").hidden = true;
}

/** Make an SVG mark readable and usable by pointer, keyboard and screen reader. */
function interactive(mark, text, onActivate) {
  mark.setAttribute("tabindex", "0");
  mark.setAttribute("role", "button");
  mark.setAttribute("aria-label", text);
  mark.append(s("title", {}, text));
  mark.addEventListener("pointerenter", (e) => showTip(e, text));
  mark.addEventListener("focus", (e) => showTip(e, text));
  mark.addEventListener("pointerleave", hideTip);
  mark.addEventListener("blur", hideTip);
  if (onActivate) {
    mark.addEventListener("click", () => { hideTip(); onActivate(); });
    mark.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); hideTip(); onActivate(); }
    });
  }
  return mark;
}

function legend(items) {
  return h("div", {class: "legend"},
    items.map((item) => h("span", {}, h("span", {class: `swatch ${item.cls}`}), item.name)));
}

function yAxis(ticks, y, format, width, unit) {
  const group = s("g", {class: "axis"});
  for (const tick of ticks) {
    group.append(
      s("line", {class: "gridline", x1: M.left, x2: width - M.right, y1: y(tick), y2: y(tick)}),
      s("text", {x: M.left - 6, y: y(tick) + 4, "text-anchor": "end"}, format(tick)),
    );
  }
  if (unit) group.append(s("text", {x: 4, y: 11}, unit));
  return group;
}

function timeAxis(x, from, to, height) {
  const group = s("g", {class: "axis"});
  const count = 5;
  for (let i = 0; i <= count; i += 1) {
    const at = from + ((to - from) * i) / count;
    const anchor = i === 0 ? "start" : i === count ? "end" : "middle";
    group.append(s("text", {x: x(at), y: height - 8, "text-anchor": anchor},
      new Date(at).toISOString().slice(0, 10)));
  }
  group.append(s("line", {x1: x(from), x2: x(to), y1: height - M.bottom, y2: height - M.bottom}));
  return group;
}

/** Lines over time. series: [{name, cls, points: [{x (ms), y (number|null), label, data}]}] */
export function lineChart({series, format, unit, onPoint, height = 220, label, integer = false,
  axisFormat}) {
  const all = series.flatMap((line) => line.points);
  const xs = all.map((p) => p.x);
  const from = Math.min(...xs);
  const to = Math.max(...xs, from + 1);
  const ticks = niceTicks(Math.max(0, ...all.map((p) => p.y ?? 0)), 4, integer);
  const top = ticks[ticks.length - 1];
  const x = (v) => M.left + ((v - from) / (to - from)) * (W - M.left - M.right);
  const y = (v) => height - M.bottom - (v / top) * (height - M.top - M.bottom);
  const svg = s("svg", {viewBox: `0 0 ${W} ${height}`, role: "img", "aria-label": label || ""},
    yAxis(ticks, y, axisFormat ? axisFormat(top) : format, W, unit), timeAxis(x, from, to, height));
  for (const line of series) {
    // Gaps stay gaps: a bucket without samples has no value, not zero.
    const path = line.points
      .map((p, i) => (p.y === null ? null : `${i && line.points[i - 1].y !== null ? "L" : "M"}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`))
      .filter(Boolean).join(" ");
    svg.append(s("path", {class: `line ${line.cls}`, d: path}));
    for (const p of line.points.filter((q) => q.y !== null)) {
      const dot = s("circle", {class: `point ${line.cls}`, cx: x(p.x), cy: y(p.y), r: 4.5});
      svg.append(interactive(dot, `${line.name}, ${p.label}: ${format(p.y)}`,
        onPoint && (() => onPoint(p, line))));
    }
  }
  return h("div", {class: "chart"}, series.length > 1 ? legend(series) : null, svg);
}

/** Horizontal stacked bars. rows: [{label, values: {key: number|null}, data}],
 * stages: [{key, name, cls}] */
export function stackedBars({rows, stages, format, onBar, unit, label, axisFormat}) {
  const rowHeight = 26;
  const labelWidth = 150;
  const height = M.top + rows.length * rowHeight + M.bottom;
  const totals = rows.map((row) => stages.reduce((sum, st) => sum + (row.values[st.key] || 0), 0));
  const ticks = niceTicks(Math.max(0, ...totals));
  const top = ticks[ticks.length - 1];
  const x = (v) => labelWidth + (v / top) * (W - labelWidth - M.right);
  const svg = s("svg", {viewBox: `0 0 ${W} ${height}`, role: "img", "aria-label": label || "",
    class: "bars"});
  const axis = s("g", {class: "axis"});
  const tickText = axisFormat ? axisFormat(top) : format;
  for (const tick of ticks) {
    axis.append(s("line", {class: "gridline", x1: x(tick), x2: x(tick), y1: M.top,
      y2: height - M.bottom}));
    axis.append(s("text", {x: x(tick), y: height - 10, "text-anchor": "middle"}, tickText(tick)));
  }
  if (unit) axis.append(s("text", {x: W - M.right, y: height, "text-anchor": "end"}, unit));
  svg.append(axis);
  rows.forEach((row, i) => {
    const top0 = M.top + i * rowHeight;
    svg.append(s("text", {x: labelWidth - 8, y: top0 + rowHeight / 2 + 4, "text-anchor": "end"},
      row.label.length > 22 ? `${row.label.slice(0, 21)}…` : row.label));
    let start = 0;
    for (const stage of stages) {
      const value = row.values[stage.key];
      if (!value) continue;
      const rect = s("rect", {class: `bar ${stage.cls}`, x: x(start), y: top0 + 4,
        width: Math.max(1, x(start + value) - x(start)), height: rowHeight - 8});
      svg.append(interactive(rect, `${row.label} — ${stage.name}: ${format(value)}`,
        onBar && (() => onBar(row, stage))));
      start += value;
    }
  });
  return h("div", {class: "chart"}, legend(stages), svg);
}

/** Vertical grouped bars. groups: [{label, values: [number|null], data}], series: [{name, cls}] */
export function groupedBars({groups, series, format, onBar, unit, label, height = 220,
  integer = false}) {
  const ticks = niceTicks(Math.max(0, ...groups.flatMap((g) => g.values.map((v) => v || 0))), 4,
    integer);
  const top = ticks[ticks.length - 1];
  const y = (v) => height - M.bottom - (v / top) * (height - M.top - M.bottom);
  const band = (W - M.left - M.right) / Math.max(1, groups.length);
  const barWidth = Math.min(28, (band * 0.8) / series.length);
  const svg = s("svg", {viewBox: `0 0 ${W} ${height}`, role: "img", "aria-label": label || ""},
    yAxis(ticks, y, format, W, unit));
  const every = Math.ceil(groups.length / 8);
  groups.forEach((group, i) => {
    const left = M.left + i * band + (band - barWidth * series.length) / 2;
    group.values.forEach((value, k) => {
      if (value === null || value === undefined) return;
      const rect = s("rect", {class: `bar ${series[k].cls}`, x: left + k * barWidth, y: y(value),
        width: barWidth - 2, height: Math.max(0, y(0) - y(value))});
      svg.append(interactive(rect, `${group.label} — ${series[k].name}: ${format(value)}`,
        onBar && (() => onBar(group, series[k]))));
    });
    if (i % every === 0) {
      svg.append(s("text", {class: "tick", x: M.left + i * band + band / 2, y: height - 10,
        "text-anchor": "middle"}, group.label));
    }
  });
  return h("div", {class: "chart"}, series.length > 1 ? legend(series) : null, svg);
}

/** Events over time in lanes. points: [{x (ms), lane, failed, label, data}] */
export function timeline({points, lanes, from, to, onPoint, label}) {
  const laneHeight = 28;
  const height = M.top + lanes.length * laneHeight + M.bottom;
  const x = (v) => M.left + 90 + ((v - from) / (to - from)) * (W - M.left - 90 - M.right);
  const svg = s("svg", {viewBox: `0 0 ${W} ${height}`, role: "img", "aria-label": label || ""});
  svg.append(timeAxis(x, from, to, height));
  lanes.forEach((name, i) => {
    const mid = M.top + i * laneHeight + laneHeight / 2;
    svg.append(s("line", {class: "gridline", x1: x(from), x2: x(to), y1: mid, y2: mid}),
      s("text", {x: x(from) - 8, y: mid + 4, "text-anchor": "end"},
        name.length > 20 ? `${name.slice(0, 19)}…` : name));
  });
  // Failures last, so they are drawn on top of the deployments around them.
  for (const p of [...points].sort((a, b) => a.failed - b.failed)) {
    const mid = M.top + lanes.indexOf(p.lane) * laneHeight + laneHeight / 2;
    const mark = p.failed
      ? s("rect", {class: "point failed", x: x(p.x) - 5, y: mid - 5, width: 10, height: 10,
          transform: `rotate(45 ${x(p.x)} ${mid})`})
      : s("circle", {class: "point s1", cx: x(p.x), cy: mid, r: 5});
    svg.append(interactive(mark, p.label, onPoint && (() => onPoint(p))));
  }
  return h("div", {class: "chart"},
    legend([{name: "deployment", cls: "s1"}, {name: "failed deployment", cls: "failed"}]), svg);
}
