/** Medians, ratios and number formats for the tables. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  // In range: `values` is not empty, so 0 <= mid - 1 < mid < length when the length is even.
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `a / b` as text, two decimals; "n/a" when either side is missing. */
export function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return 'n/a';
  return (a / b).toFixed(2);
}

/** Whole numbers for rates: 12345 → "12,345". */
export function rate(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

/** Milliseconds with three significant decimals where small. */
export function ms(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return 'n/a';
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** Microseconds from milliseconds. */
export function us(valueMs: number | null | undefined): string {
  if (valueMs == null || !Number.isFinite(valueMs)) return 'n/a';
  const v = valueMs * 1000;
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

/** "+4.1 %" for `a` against `b` (the cost of a against b, as a share of b). */
export function change(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return 'n/a';
  const pct = ((a - b) / b) * 100;
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)} %`;
}
