/**
 * A self-signed certificate for `localhost` and 127.0.0.1, made at test time with the openssl CLI
 * (P-256, valid 2 days) into a temp dir that is removed when the process exits. One per process:
 * every caller gets the same promise. Tests that dial wss pass `cert` as `ca`, so certificate
 * verification stays on.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** openssl runs in well under a second; this only bounds a wedged child. */
const OPENSSL_TIMEOUT_MS = 30_000

export interface TestCert {
  /** PEM certificate (also the CA to trust: it is self-signed). */
  readonly cert: string
  /** PEM private key, unencrypted. */
  readonly key: string
  readonly certPath: string
  readonly keyPath: string
}

let cached: Promise<TestCert> | undefined

export function testCert(): Promise<TestCert> {
  cached ??= make()
  return cached
}

async function make(): Promise<TestCert> {
  const dir = mkdtempSync(path.join(tmpdir(), 'burrow-tls-'))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  const certPath = path.join(dir, 'cert.pem')
  const keyPath = path.join(dir, 'key.pem')
  await run(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { timeout: OPENSSL_TIMEOUT_MS },
  )
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath }
}
