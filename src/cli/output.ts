/** Shared CLI output: aligned tables, JSON, and a progress bar that only draws on a terminal. */
import cliProgress from 'cli-progress';

export function printTable(headers: readonly string[], rows: readonly (readonly (string | number)[])[], out: NodeJS.WritableStream = process.stdout): void {
  const cells = [headers, ...rows].map((r) => r.map(String));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  out.write(line(cells[0]!) + '\n');
  out.write(widths.map((w) => '-'.repeat(w)).join('  ') + '\n');
  for (const r of cells.slice(1)) out.write(line(r) + '\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export interface Progress {
  tick(n?: number): void;
  setTotal(total: number): void;
  stop(): void;
}

/** An `onProgress(done, total)` callback that moves `bar`. */
export function followProgress(bar: Progress): (done: number, total: number) => void {
  let shown = 0;
  return (done, total) => {
    bar.setTotal(total);
    if (done > shown) bar.tick(done - shown);
    shown = Math.max(shown, done);
  };
}

/**
 * A progress bar on stderr when it is a terminal; silent otherwise (pipes, CI, --json). `total`
 * may be an estimate: a bar that passes it grows instead of running over.
 */
export function progressBar(label: string, total: number, enabled = process.stderr.isTTY === true): Progress {
  if (!enabled) return { tick() {}, setTotal() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} {eta_formatted}`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let value = 0;
  let max = Math.max(1, total);
  bar.start(max, 0);
  return {
    tick: (n = 1) => {
      value += n;
      if (value > max) bar.setTotal((max = value));
      bar.increment(n);
    },
    setTotal: (t) => bar.setTotal((max = Math.max(t, value))),
    stop: () => bar.stop(),
  };
}

export function pct(v: number | undefined, digits = 1): string {
  return v === undefined ? '-' : `${(v * 100).toFixed(digits)}%`;
}
