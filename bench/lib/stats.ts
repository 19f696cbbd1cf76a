/** Small helpers for the benchmark scripts: percentiles, formatting, a results table. */
import os from 'node:os'

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const at = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[at] as number
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  )
}

export const mbps = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000)

export interface Row {
  figure: string
  unit: string
  values: Record<string, number>
}

/** Prints rows as a table with one column per variant, plus `ratio` columns against `anchor`. */
export function printTable(rows: Row[], variants: string[], ratios: Array<[string, string]>): string {
  const header = ['figure', ...variants, ...ratios.map(([a, b]) => `${a}/${b}`)]
  const lines = rows.map((r) => [
    `${r.figure} (${r.unit})`,
    ...variants.map((v) => fmt(r.values[v])),
    ...ratios.map(([a, b]) => {
      const x = r.values[a]
      const y = r.values[b]
      return x === undefined || y === undefined || y === 0 ? '-' : `${(x / y).toFixed(2)}x`
    }),
  ])
  const out = renderTable(header, lines)
  console.log(out)
  return out
}

/** A markdown table of `header` and `lines` (cells already formatted), columns padded to fit. */
export function renderTable(header: string[], lines: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)))
  const render = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`
  return [render(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(render)].join(
    '\n',
  )
}

/** A figure with as many significant digits as the table needs ('-' for none). */
export function fmt(x: number | undefined): string {
  if (x === undefined || Number.isNaN(x)) return '-'
  if (x >= 100) return x.toFixed(0)
  if (x >= 10) return x.toFixed(1)
  return x.toFixed(2)
}

/** One line describing the machine, for docs/BENCHMARKS.md. */
export function machine(): string {
  const cpus = os.cpus()
  return `${process.platform} ${process.arch}, ${cpus.length} cores (${cpus[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`
}
