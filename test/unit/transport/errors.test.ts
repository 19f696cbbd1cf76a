import assert from 'node:assert/strict'
import { test } from 'node:test'
import { TunnelError } from '../../../src/errors.ts'
import { describeAddress, hostPort, transportError } from '../../../src/transport/errors.ts'

/** A Node system error as net/dns raise them. */
function sys(code: string, syscall = 'connect'): NodeJS.ErrnoException {
  return Object.assign(new Error(`${syscall} ${code}`), { code, syscall, errno: -1 })
}

const TCP = { op: 'connect', kind: 'tcp', where: 'tcp 127.0.0.1:7000' } as const
const UNIX = { op: 'connect', kind: 'unix', where: 'unix /run/b.sock' } as const

test('errno codes map to the transport TunnelError codes, keeping the cause', () => {
  const table: Array<[string, typeof TCP | typeof UNIX, string]> = [
    ['ECONNREFUSED', TCP, 'TUN_ERR_CONNECT_REFUSED'],
    ['ENOENT', UNIX, 'TUN_ERR_CONNECT_REFUSED'],
    ['ENOENT', TCP, 'TUN_ERR_TRANSPORT'],
    ['ENOTFOUND', TCP, 'TUN_ERR_HOST_NOT_FOUND'],
    ['EAI_AGAIN', TCP, 'TUN_ERR_HOST_NOT_FOUND'],
    ['EHOSTUNREACH', TCP, 'TUN_ERR_HOST_UNREACHABLE'],
    ['ENETUNREACH', TCP, 'TUN_ERR_HOST_UNREACHABLE'],
    ['ETIMEDOUT', TCP, 'TUN_ERR_CONNECT_TIMEOUT'],
    ['EADDRINUSE', TCP, 'TUN_ERR_ADDRESS_IN_USE'],
    ['ECONNRESET', TCP, 'TUN_ERR_CONN_RESET'],
    ['EPIPE', TCP, 'TUN_ERR_CONN_RESET'],
    ['EACCES', TCP, 'TUN_ERR_TRANSPORT'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', TCP, 'TUN_ERR_TRANSPORT'],
  ]
  for (const [errno, context, code] of table) {
    const cause = sys(errno)
    const err = transportError(cause, context)
    assert.equal(err.code, code, errno)
    assert.equal(err.cause, cause, errno)
  }
})

test('messages say what was done, where, and why', () => {
  assert.equal(
    transportError(sys('ECONNREFUSED'), TCP).message,
    'connect to tcp 127.0.0.1:7000 refused: nothing is listening there',
  )
  assert.equal(
    transportError(sys('EADDRINUSE', 'listen'), { ...TCP, op: 'listen' }).message,
    'listen on tcp 127.0.0.1:7000 failed: the address is already in use',
  )
  assert.equal(
    transportError(sys('ECONNRESET', 'read'), {
      op: 'io',
      kind: 'tcp',
      where: 'tcp connection 1.2.3.4:5 -> 6.7.8.9:10',
    }).message,
    'tcp connection 1.2.3.4:5 -> 6.7.8.9:10 failed: the remote side reset the connection (ECONNRESET)',
  )
  assert.equal(
    transportError(sys('EACCES', 'listen'), { ...TCP, op: 'listen' }).message,
    'listen on tcp 127.0.0.1:7000 failed: listen EACCES',
  )
})

test('AggregateErrors (happy-eyeballs dials) map by their first error', () => {
  const agg = new AggregateError([sys('ECONNREFUSED'), sys('ECONNREFUSED')], 'all failed')
  assert.equal(transportError(agg, TCP).code, 'TUN_ERR_CONNECT_REFUSED')
})

test('a TunnelError passes through unchanged', () => {
  const err = new TunnelError('TUN_ERR_ABORTED', 'x')
  assert.equal(transportError(err, TCP), err)
})

test('addresses print with IPv6 hosts in brackets', () => {
  assert.equal(hostPort('::1', 80), '[::1]:80')
  assert.equal(hostPort('example.com', 80), 'example.com:80')
  assert.equal(describeAddress({ kind: 'tcp', host: '::1', port: 7000 }), 'tcp [::1]:7000')
  assert.equal(describeAddress({ kind: 'unix', path: '/run/b.sock' }), 'unix /run/b.sock')
  assert.equal(
    describeAddress({ kind: 'wss', host: 'relay.example', port: 443, path: '/burrow' }),
    'wss://relay.example:443/burrow',
  )
})
