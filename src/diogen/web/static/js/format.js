// How numbers, durations and times read on every page (one place, so pages agree).

const DASH = "—";

export function hours(value) {
  if (value === null || value === undefined) return DASH;
  if (Math.abs(value) >= 48) return `${(value / 24).toFixed(1)} d`;
  return `${value.toFixed(1)} h`;
}

/** Axis labels in one unit: days when the axis reaches two days, else hours. */
export function hoursAxis(top) {
  return top >= 48 ? (v) => `${+(v / 24).toFixed(1)} d` : (v) => `${+v.toFixed(1)} h`;
}

export function percent(rate) {
  if (rate === null || rate === undefined) return DASH;
  return `${(rate * 100).toFixed(1)} %`;
}

export function number(value, digits = 2) {
  if (value === null || value === undefined) return DASH;
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

export function day(iso) {
  return iso ? iso.slice(0, 10) : DASH;
}

export function moment(iso) {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : DASH;
}

export function shortSha(sha) {
  return sha ? sha.slice(0, 10) : DASH;
}

export { DASH };
