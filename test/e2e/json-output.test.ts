/**
 * The `--json` contract of docs/cli.md ("Output"): every stdout line is one JSON object with an
 * `event` field, and the first is `ready`, so a script can read line 1 for the id and address.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { makeClientKey, startRelay, startServe, tempDir, type BurrowDaemon } from '../helpers/burrow-procs.ts'

/** Bounds the test, whatever hangs. */
const TEST_TIMEOUT_MS = 60_000

function parsedLines(daemon: BurrowDaemon): Array<{ event?: unknown }> {
  return daemon.process.lines('stdout').map((line) => JSON.parse(line) as { event?: unknown })
}

test(
  'relay and serve with --json, on a fresh data dir: every stdout line is a JSON event, the first is ready',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const client = await makeClientKey(tempDir('json-output'))
    const relay = await startRelay()
    t.after(() => relay.stop())
    const serve = await startServe({
      relay: relay.address,
      exposeTcp: '127.0.0.1:22',
      allowClients: [client.id],
    })
    t.after(() => serve.stop())
    for (const [name, daemon] of [
      ['relay', relay],
      ['serve', serve],
    ] as const) {
      const lines = parsedLines(daemon)
      assert.ok(
        lines.every((l) => typeof l.event === 'string'),
        `${name}: a line without an event`,
      )
      assert.equal(lines[0]?.event, 'ready', `${name}: first line is ${JSON.stringify(lines[0])}`)
    }
  },
)
