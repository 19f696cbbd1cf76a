import assert from 'node:assert/strict'
import { test } from 'node:test'
import { generateIdentity } from '../../../src/identity/keys.ts'
import {
  DEFAULT_EXPOSE_RANGE,
  formatPorts,
  nthPort,
  parseExposeAllowFile,
  parsePortList,
  parsePortRange,
  portCount,
  portsInclude,
} from '../../../src/relay/expose-allow.ts'

const [a, b, c] = [generateIdentity().id, generateIdentity().id, generateIdentity().id]

test('the expose-allow file: ids with *, a port, a range, a list; comments and blank lines', () => {
  const text = [
    '# peer id   ports',
    '',
    `${a}  *            # any port of the range`,
    `  ${b}\t20080`,
    `${c} 20100-20199,8443,20200   `,
  ].join('\r\n')
  assert.deepEqual(parseExposeAllowFile(`\uFEFF${text}`, 'f'), [
    { id: a, ports: '*' },
    { id: b, ports: [{ from: 20080, to: 20080 }] },
    {
      id: c,
      ports: [
        { from: 8443, to: 8443 },
        { from: 20100, to: 20200 },
      ],
    },
  ])
})

test('an id listed twice gets the union of its lines; * absorbs everything', () => {
  assert.deepEqual(parseExposeAllowFile(`${a} 80\n${a} 81-90\n${b} 80\n${b} *\n`, 'f'), [
    { id: a, ports: [{ from: 80, to: 90 }] },
    { id: b, ports: '*' },
  ])
})

test('bad lines are refused with file:line and what is wrong', () => {
  const cases: Array<[string, RegExp, string]> = [
    [`${a}`, /f:1: no ports after the id/, 'TUN_ERR_INVALID_ARGUMENT'],
    [`\n${a} 80 81`, /f:2: unexpected "81"/, 'TUN_ERR_INVALID_ARGUMENT'],
    ['not-an-id 80', /f:1: "not-an-id" is not a node id/, 'TUN_ERR_ID_INVALID'],
    [`${a} 0`, /f:1: .*port "0" is not 1-65535/, 'TUN_ERR_INVALID_ARGUMENT'],
    [`${a} 65536`, /f:1: .*port "65536"/, 'TUN_ERR_INVALID_ARGUMENT'],
    [`${a} 90-80`, /f:1: .*runs backwards/, 'TUN_ERR_INVALID_ARGUMENT'],
    [`${a} 80,,81`, /f:1: .*empty item/, 'TUN_ERR_INVALID_ARGUMENT'],
    [`${a} 080`, /f:1: .*port "080"/, 'TUN_ERR_INVALID_ARGUMENT'],
    [`${a} 80,*`, /f:1: .*port "\*"/, 'TUN_ERR_INVALID_ARGUMENT'],
  ]
  for (const [text, message, code] of cases)
    assert.throws(() => parseExposeAllowFile(text, 'f'), { code, message }, text)
})

test('port lists and the relay range', () => {
  assert.equal(parsePortList('*'), '*')
  assert.deepEqual(parsePortList('3,1,2,10-12'), [
    { from: 1, to: 3 },
    { from: 10, to: 12 },
  ])
  assert.deepEqual(parsePortRange('20000-29999'), DEFAULT_EXPOSE_RANGE)
  assert.deepEqual(parsePortRange('8080'), { from: 8080, to: 8080 })
  assert.throws(() => parsePortRange('*'), { code: 'TUN_ERR_INVALID_ARGUMENT' })
  assert.throws(() => parsePortRange('1-2,5'), { code: 'TUN_ERR_INVALID_ARGUMENT' })
  assert.equal(formatPorts(parsePortList('5,1-3')), '1-3,5')
})

test('* means the relay range; explicit ports are granted as written', () => {
  const range = { from: 100, to: 104 }
  assert.ok(portsInclude('*', range, 100) && portsInclude('*', range, 104))
  assert.ok(!portsInclude('*', range, 99) && !portsInclude('*', range, 105))
  const list = parsePortList('8080,200-201')
  assert.ok(portsInclude(list, range, 8080) && portsInclude(list, range, 201))
  assert.ok(!portsInclude(list, range, 100))
  assert.equal(portCount('*', range), 5)
  assert.equal(portCount(list, range), 3)
  assert.deepEqual(
    [0, 1, 2].map((i) => nthPort(list, range, i)),
    [200, 201, 8080],
  )
  assert.throws(() => nthPort(list, range, 3), RangeError)
})
