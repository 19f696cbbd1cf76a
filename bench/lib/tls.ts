/** A throw-away self-signed certificate for benchmark TLS servers (openssl CLI). */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

export function benchCert(): { certPath: string; keyPath: string; cert: Buffer; key: Buffer } {
  const dir = mkdtempSync(path.join(tmpdir(), 'burrow-bench-'))
  const certPath = path.join(dir, 'cert.pem')
  const keyPath = path.join(dir, 'key.pem')
  execFileSync(
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
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { stdio: 'ignore' },
  )
  return { certPath, keyPath, cert: readFileSync(certPath), key: readFileSync(keyPath) }
}
