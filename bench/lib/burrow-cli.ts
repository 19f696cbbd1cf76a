/**
 * The burrow CLI as a user runs it (`node bin/burrow.js ...`, see test/helpers/cli.ts), with
 * `--json`: each command's first stdout line is `{"event":"ready",...}`; later events (links,
 * splices, connections) are JSON lines too, drained by procs.ts.
 *
 * BENCH_BURROW_NODE_ARGS adds Node flags to the long-running commands, to look inside them, e.g.
 * `BENCH_BURROW_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'` (a profile per process at exit).
 */
import { fileURLToPath } from 'node:url'
import { runProc, startProc, type Proc } from './procs.ts'

export const BURROW_BIN = fileURLToPath(new URL('../../bin/burrow.js', import.meta.url))

/** Writes a new identity key to `file`; resolves with its id. */
export async function keygen(file: string): Promise<string> {
  const r = await runProc(process.execPath, [BURROW_BIN, 'keygen', '--output', file])
  if (r.code !== 0) throw new Error(`burrow keygen failed: ${r.stderr}`)
  return r.stdout.trim()
}

/** Starts `burrow <args> --json` and resolves with the process and its parsed ready line. */
export async function startBurrow(
  args: string[],
  name: string,
): Promise<{ proc: Proc; ready: Record<string, unknown> }> {
  const nodeArgs = (process.env.BENCH_BURROW_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const proc = startProc(process.execPath, [...nodeArgs, BURROW_BIN, ...args, '--json'], { name })
  try {
    const line = await proc.waitFor(/"event":"ready"/)
    return { proc, ready: JSON.parse(line) as Record<string, unknown> }
  } catch (err) {
    await proc.stop()
    throw err
  }
}
