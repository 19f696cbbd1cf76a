#!/usr/bin/env node
// Runs burrow's tests with node:test through tsx.
//   node scripts/test.mjs                 the default tiers: unit, integration, fault, fuzz, e2e
//   node scripts/test.mjs --tier slow     the slow tier (soak, long fuzz), kept out of the default run
//   node scripts/test.mjs test/unit/x     only the files under the given paths
// Every test file is named *.test.ts. Files in test/compliance/ and test/helpers/ are libraries.
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import path from 'node:path'

const args = process.argv.slice(2)
const tierAt = args.indexOf('--tier')
const tier = tierAt === -1 ? 'default' : args.splice(tierAt, 2)[1]
const DEFAULT_TIERS = ['unit', 'integration', 'fault', 'fuzz', 'e2e']
const roots = args.length > 0 ? args : (tier === 'default' ? DEFAULT_TIERS : [tier]).map((t) => `test/${t}`)

function collect(p, out) {
  let st
  try {
    st = statSync(p)
  } catch {
    return out
  }
  if (st.isFile()) {
    if (p.endsWith('.test.ts')) out.push(p)
  } else {
    for (const name of readdirSync(p).sort()) collect(path.join(p, name), out)
  }
  return out
}

const files = roots.flatMap((r) => collect(r, []))
if (files.length === 0) {
  console.error(`no test files under ${roots.join(', ')}`)
  process.exit(1)
}
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    `--test-timeout=${process.env.BURROW_TEST_TIMEOUT ?? 300000}`,
    ...(process.env.CI ? ['--test-reporter=spec'] : []),
    ...files,
  ],
  { stdio: 'inherit' },
)
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
