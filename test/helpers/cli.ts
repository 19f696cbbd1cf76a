/** Runs the built `burrow` binary (bin/burrow.js) as a child process, as a user would. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const BURROW_BIN = fileURLToPath(new URL('../../bin/burrow.js', import.meta.url))

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `burrow ...args` to completion, with an optional stdin. */
export function runBurrow(
  args: string[],
  options: SpawnOptions & { input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawnBurrow(args, options)
    let stdout = ''
    let stderr = ''
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin?.end(options.input ?? '')
  })
}

/** Starts `burrow ...args` and returns the child (stdio piped). The caller ends it. */
export function spawnBurrow(args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, [BURROW_BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...options })
}
