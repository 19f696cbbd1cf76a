/** Starts a TypeScript benchmark helper in its own Node process and reads its first stdout line as JSON. */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'

export async function startChild<T>(
  script: string,
  args: string[] = [],
): Promise<{ info: T; child: ChildProcess; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: child.stdout! })
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve)
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)))
  })
  return { info: JSON.parse(first) as T, child, stop: () => child.stdin?.end() }
}
