import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { normalizeHost } from '../../../src/address/host.ts'
import {
  formatNodeAddress,
  formatNodeAddresses,
  fromNodeAddress,
  parseNodeAddresses,
  toNodeAddress,
} from '../../../src/address/node.ts'
import type { NodeAddress, TransportAddress } from '../../../src/address/types.ts'
import { newId, nodeAddressArb } from './arbitraries.ts'

const ID = newId()
const one = (text: string): NodeAddress => {
  const list = parseNodeAddresses(text)
  assert.equal(list.length, 1)
  return list[0] as NodeAddress
}

/** [input, typed transport, canonical text (when it differs from the input)] */
const VALID: [string, TransportAddress, string?][] = [
  ['tcp:relay.example.com:7000', { kind: 'tcp', host: 'relay.example.com', port: 7000 }],
  ['net:host.com:8008', { kind: 'tcp', host: 'host.com', port: 8008 }, 'tcp:host.com:8008'],
  ['tcp:10.0.0.1:0', { kind: 'tcp', host: '10.0.0.1', port: 0 }],
  ['tcp:h:65535', { kind: 'tcp', host: 'h', port: 65535 }],
  ['tcp:!:!:1:7000', { kind: 'tcp', host: '::1', port: 7000 }],
  ['tcp:[::1]:7000', { kind: 'tcp', host: '::1', port: 7000 }, 'tcp:!:!:1:7000'],
  ['tcp:[!:!:1]:7000', { kind: 'tcp', host: '::1', port: 7000 }, 'tcp:!:!:1:7000'],
  ['tcp:[2001:DB8:0:0::1]:443', { kind: 'tcp', host: '2001:db8::1', port: 443 }, 'tcp:2001!:db8!:!:1:443'],
  ['net:0!:0!:0!:0!:0!:0!:0!:1:1', { kind: 'tcp', host: '::1', port: 1 }, 'tcp:!:!:1:1'],
  [
    'tcp:Relay.Example.COM:80',
    { kind: 'tcp', host: 'relay.example.com', port: 80 },
    'tcp:relay.example.com:80',
  ],
  ['tcp:127.1:80', { kind: 'tcp', host: '127.0.0.1', port: 80 }, 'tcp:127.0.0.1:80'],
  ['tcp:_srv.example.com.:80', { kind: 'tcp', host: '_srv.example.com.', port: 80 }],
  ['unix:/run/burrow.sock', { kind: 'unix', path: '/run/burrow.sock' }],
  ['unix:/tmp/a!:b!~c!;d!!e', { kind: 'unix', path: '/tmp/a:b~c;d!e' }],
  ['unix:relative.sock', { kind: 'unix', path: 'relative.sock' }],
  ['ws://h.com', { kind: 'ws', host: 'h.com', port: 80, path: '/' }],
  ['ws://h.com/', { kind: 'ws', host: 'h.com', port: 80, path: '/' }, 'ws://h.com'],
  ['ws://h.com:80/x', { kind: 'ws', host: 'h.com', port: 80, path: '/x' }, 'ws://h.com/x'],
  ['ws://h.com:8080/x/y', { kind: 'ws', host: 'h.com', port: 8080, path: '/x/y' }],
  ['ws://h.com:0', { kind: 'ws', host: 'h.com', port: 0, path: '/' }],
  ['wss://relay.example.com/burrow', { kind: 'wss', host: 'relay.example.com', port: 443, path: '/burrow' }],
  ['wss://h:443', { kind: 'wss', host: 'h', port: 443, path: '/' }, 'wss://h'],
  ['wss://h:80', { kind: 'wss', host: 'h', port: 80, path: '/' }],
  ['ws://[::1]:8080/x', { kind: 'ws', host: '::1', port: 8080, path: '/x' }],
  ['wss://[fe80::1]', { kind: 'wss', host: 'fe80::1', port: 443, path: '/' }],
  ['ws://h/a:b?q=1&r=2', { kind: 'ws', host: 'h', port: 80, path: '/a:b?q=1&r=2' }],
  ['ws://h/!~user/!;x!!', { kind: 'ws', host: 'h', port: 80, path: '/~user/;x!' }],
  ['ws://H.COM/A/../B', { kind: 'ws', host: 'h.com', port: 80, path: '/B' }, 'ws://h.com/B'],
  ['ws://h/a"b', { kind: 'ws', host: 'h', port: 80, path: '/a%22b' }, 'ws://h/a%22b'],
]

describe('typed vectors', () => {
  for (const [text, transport, canonical] of VALID) {
    test(text, () => {
      assert.deepStrictEqual(one(text), { transport })
      assert.equal(formatNodeAddress({ transport }), canonical ?? text)
      assert.deepStrictEqual(one(`${text}~noise:${ID}`), { transport, id: ID })
      assert.equal(formatNodeAddress({ transport, id: ID }), `${canonical ?? text}~noise:${ID}`)
    })
  }
})

const SYNTAX: [string, RegExp][] = [
  ['tcp:h', /tcp takes a host and a port .* got 1 argument/],
  ['tcp:h:1:2', /got 3 argument.*tcp:!:!:1:7000.*tcp:\[::1\]:7000/],
  ['tcp:::1:7000', /got 4 argument/],
  ['tcp:h:65536', /invalid port "65536"/],
  ['tcp:h:99999999', /invalid port/],
  ['tcp:h:-1', /invalid port "-1"/],
  ['tcp:h:07', /invalid port "07"/],
  ['tcp:h:', /invalid port ""/],
  ['tcp:h:1e3', /invalid port "1e3"/],
  ['tcp:h:+1', /invalid port "\+1"/],
  ['tcp::80', /invalid host "": a host is not empty/],
  ['tcp:a$b:80', /invalid host "a\$b": "\$" is not allowed/],
  ['tcp:a..b:80', /empty label/],
  ['tcp:a@b:80', /"@" is not allowed/],
  ['tcp:1.2.3.4.5:80', /not a valid DNS name or IPv4 address/],
  ['tcp:256.1.1.1:80', /not a valid DNS name or IPv4 address/],
  ['tcp:[::1]7000', /bracketed host is written tcp:\[ipv6\]:port/],
  ['tcp:[::1:7000', /bracketed host/],
  ['tcp:[1.2.3.4]:5', /brackets are for IPv6 hosts only/],
  ['tcp:[::1]:x', /invalid port "x"/],
  ['tcp:[::g]:1', /not an IPv6 address/],
  ['tcp:fe80!:!:1%eth0:1', /zone ids are not supported/],
  ['tcp:' + 'a'.repeat(64) + '.com:1', /label is longer than 63/],
  ['tcp:' + 'abc.'.repeat(64) + 'com:1', /longer than 253/],
  ['unix:', /unix takes one argument/],
  ['unix', /unix takes one argument/],
  ['unix:/a:/b', /unix takes one argument.*got 2/],
  ['ws:h:80', /ws takes a URL: ws:\/\/host\[:port\]\[\/path\]/],
  ['ws', /ws takes a URL/],
  ['ws://', /ws takes a URL/],
  ['ws:///x', /ws takes a URL/],
  ['wss://u:p@h/', /may not carry credentials/],
  ['ws://@h/', /may not carry credentials/],
  ['ws://h/#frag', /may not have a fragment/],
  ['ws://h:65536/', /not a valid ws URL/],
  ['ws://[::1/', /not a valid ws URL/],
  ['ws://a$b/', /"\$" is not allowed/],
  [`tcp:h:1~noise`, /noise takes one argument, a node id, got 0/],
  [`tcp:h:1~noise:${ID}:x`, /noise takes one argument, a node id, got 2/],
  [`tcp:h:1~noise:${ID}~noise:${ID}`, /more than one noise transform/],
]

describe('typed syntax errors', () => {
  for (const [text, message] of SYNTAX) {
    test(text.length > 60 ? text.slice(0, 60) + '...' : text, () => {
      assert.throws(
        () => parseNodeAddresses(text),
        (err: { code?: string; message: string }) => {
          assert.equal(err.code, 'TUN_ERR_ADDRESS_SYNTAX')
          assert.match(err.message, /^alternative 1: in "/)
          assert.match(err.message, message)
          return true
        },
      )
    })
  }
})

describe('noise ids', () => {
  const wrong: [string, string][] = [
    ['too short', ID.slice(0, 51)],
    ['too long', ID + 'a'],
    ['uppercase', ID.toUpperCase()],
    ['not base32 (digit 1)', '1' + ID.slice(1)],
    ['not canonical (last character carries padding bits)', ID.slice(0, 51) + 'b'],
    ['empty', ''],
  ]
  for (const [what, id] of wrong) {
    test(`refuses an id that is ${what}`, () => {
      assert.throws(() => parseNodeAddresses(`tcp:h:1~noise:${id}`), { code: 'TUN_ERR_ID_INVALID' })
      assert.throws(() => formatNodeAddress({ transport: { kind: 'unix', path: '/s' }, id }), {
        code: 'TUN_ERR_ID_INVALID',
      })
    })
  }
  test('an address without noise has no id key', () => {
    assert.ok(!('id' in one('tcp:h:1')))
  })
})

describe('unsupported protocols and transforms', () => {
  test('an unknown protocol or transform is named', () => {
    assert.throws(() => parseNodeAddresses('onion:abc.onion:80'), {
      code: 'TUN_ERR_ADDRESS_UNSUPPORTED',
      message: /unsupported protocol "onion" \(known: tcp, net, unix, ws, wss\)/,
    })
    assert.throws(() => parseNodeAddresses('tcp:h:1~shs:key'), {
      code: 'TUN_ERR_ADDRESS_UNSUPPORTED',
      message: /unsupported transform "shs" \(known: noise, tunnel\)/,
    })
  })
  test('names are judged before arguments', () => {
    assert.throws(() => parseNodeAddresses('tcp:bad~shs:key'), { code: 'TUN_ERR_ADDRESS_UNSUPPORTED' })
  })
  test('skipUnsupported keeps the alternatives this build understands, in order', () => {
    const text = `net:h.com:8008~shs:k;onion:x.onion:1;wss://h.com~noise:${ID};tcp:h.com:7000~noise:${ID}`
    assert.throws(() => parseNodeAddresses(text), {
      code: 'TUN_ERR_ADDRESS_UNSUPPORTED',
      message: /^alternative 1: /,
    })
    assert.deepStrictEqual(parseNodeAddresses(text, { skipUnsupported: true }), [
      { transport: { kind: 'wss', host: 'h.com', port: 443, path: '/' }, id: ID },
      { transport: { kind: 'tcp', host: 'h.com', port: 7000 }, id: ID },
    ])
  })
  test('skipUnsupported fails when nothing is left', () => {
    assert.throws(() => parseNodeAddresses('net:h:1~shs:k;onion:x:1', { skipUnsupported: true }), {
      code: 'TUN_ERR_ADDRESS_UNSUPPORTED',
      message: /no alternative of the address is supported \(skipped: shs, onion;/,
    })
  })
  test('skipUnsupported does not hide a malformed alternative of a known protocol', () => {
    assert.throws(() => parseNodeAddresses('onion:x:1;tcp:h:99999', { skipUnsupported: true }), {
      code: 'TUN_ERR_ADDRESS_SYNTAX',
      message: /^alternative 2: in "tcp:h:99999": invalid port/,
    })
  })
  test('grammar errors come first, with their position', () => {
    assert.throws(() => parseNodeAddresses('tcp:h:1;onion x'), {
      code: 'TUN_ERR_ADDRESS_SYNTAX',
      message: /^unexpected ' ' at position 13/,
    })
  })
})

describe('toNodeAddress / fromNodeAddress', () => {
  test('toNodeAddress refuses a structure no string can express', () => {
    const alt = { protocol: { name: 'tcp', args: ['a b', '1'] }, transforms: [] }
    assert.throws(() => toNodeAddress(alt), { code: 'TUN_ERR_ADDRESS_SYNTAX', message: /' ' at position 1/ })
  })
  test('fromNodeAddress writes tcp (never net) with escaped IPv6 colons', () => {
    assert.deepStrictEqual(fromNodeAddress({ transport: { kind: 'tcp', host: '::1', port: 1 } }), {
      protocol: { name: 'tcp', args: ['::1', '1'] },
      transforms: [],
    })
  })
  const refused: [string, NodeAddress, string, RegExp][] = [
    [
      'port 65536',
      { transport: { kind: 'tcp', host: 'h', port: 65536 } },
      'TUN_ERR_ADDRESS_SYNTAX',
      /invalid port 65536/,
    ],
    [
      'port -1',
      { transport: { kind: 'ws', host: 'h', port: -1, path: '/' } },
      'TUN_ERR_ADDRESS_SYNTAX',
      /invalid port/,
    ],
    [
      'port 1.5',
      { transport: { kind: 'tcp', host: 'h', port: 1.5 } },
      'TUN_ERR_ADDRESS_SYNTAX',
      /invalid port/,
    ],
    [
      'a bracketed host',
      { transport: { kind: 'tcp', host: '[::1]', port: 1 } },
      'TUN_ERR_ADDRESS_SYNTAX',
      /invalid host/,
    ],
    [
      'an empty unix path',
      { transport: { kind: 'unix', path: '' } },
      'TUN_ERR_ADDRESS_SYNTAX',
      /non-empty path/,
    ],
    [
      'a unix path with a space',
      { transport: { kind: 'unix', path: '/a b' } },
      'TUN_ERR_ADDRESS_SYNTAX',
      /' '/,
    ],
    [
      'a ws path without /',
      { transport: { kind: 'ws', host: 'h', port: 80, path: 'x' } },
      'TUN_ERR_ADDRESS_SYNTAX',
      /starts with/,
    ],
    [
      'a ws path a URL rewrites',
      { transport: { kind: 'ws', host: 'h', port: 80, path: '/a/../b' } },
      'TUN_ERR_ADDRESS_SYNTAX',
      /reads back as "\/b"/,
    ],
    [
      'a ws path with a space',
      { transport: { kind: 'ws', host: 'h', port: 80, path: '/a b' } },
      'TUN_ERR_ADDRESS_SYNTAX',
      /reads back as "\/a%20b"/,
    ],
    [
      'a ws path with #',
      { transport: { kind: 'wss', host: 'h', port: 1, path: '/#x' } },
      'TUN_ERR_ADDRESS_SYNTAX',
      /fragment/,
    ],
    [
      'an unknown kind',
      { transport: { kind: 'udp', host: 'h', port: 1 } as unknown as TransportAddress },
      'TUN_ERR_INVALID_ARGUMENT',
      /unknown transport kind/,
    ],
  ]
  for (const [what, address, code, message] of refused) {
    test(`formatNodeAddress refuses ${what}`, () => {
      assert.throws(() => formatNodeAddress(address), { code, message })
    })
  }
  test('formatNodeAddresses joins alternatives with ; and refuses an empty list', () => {
    const list: NodeAddress[] = [
      { transport: { kind: 'unix', path: '/s' } },
      { transport: { kind: 'wss', host: 'r.example', port: 443, path: '/b' }, id: ID },
    ]
    assert.equal(formatNodeAddresses(list), `unix:/s;wss://r.example/b~noise:${ID}`)
    assert.throws(() => formatNodeAddresses([]), { code: 'TUN_ERR_ADDRESS_SYNTAX' })
  })
})

describe('typed round trips (fast-check)', () => {
  const normalized = (a: NodeAddress): NodeAddress => {
    const t = a.transport
    const transport = t.kind === 'unix' ? t : { ...t, host: normalizeHost(t.host) }
    return a.id === undefined ? { transport } : { transport, id: a.id }
  }
  test('parseNodeAddresses(formatNodeAddresses(list)) deep-equals the list, hosts normalised', () => {
    fc.assert(
      fc.property(fc.array(nodeAddressArb, { minLength: 1, maxLength: 4 }), (list) => {
        const text = formatNodeAddresses(list)
        assert.deepStrictEqual(parseNodeAddresses(text), list.map(normalized))
        assert.equal(formatNodeAddresses(parseNodeAddresses(text)), text)
      }),
      { numRuns: 1000 },
    )
  })
})

describe('tunnel transform (a peer reached through a relay)', () => {
  const relay = newId()
  const server = newId()
  test('parses noise then tunnel, and formats back to the same string', () => {
    const text = `tcp:relay.example.com:7000~noise:${relay}~tunnel:${server}`
    const [a] = parseNodeAddresses(text)
    assert.deepEqual(a, {
      transport: { kind: 'tcp', host: 'relay.example.com', port: 7000 },
      id: relay,
      tunnel: server,
    })
    assert.equal(formatNodeAddress(a as NodeAddress), text)
  })
  test('alternatives may mix a direct address and relayed ones', () => {
    const text = `tcp:10.0.0.5:7001~noise:${server};wss://relay.example.com/burrow~noise:${relay}~tunnel:${server}`
    const list = parseNodeAddresses(text)
    assert.equal(list[0]?.tunnel, undefined)
    assert.equal(list[1]?.tunnel, server)
    assert.equal(formatNodeAddresses(list), text)
  })
  test('tunnel without the relay id, twice, or before noise is a syntax error', () => {
    for (const bad of [
      `tcp:h:1~tunnel:${server}`,
      `tcp:h:1~noise:${relay}~tunnel:${server}~tunnel:${server}`,
      `tcp:h:1~tunnel:${server}~noise:${relay}`,
    ]) {
      assert.throws(() => parseNodeAddresses(bad), { code: 'TUN_ERR_ADDRESS_SYNTAX' }, bad)
    }
    assert.throws(() => parseNodeAddresses(`tcp:h:1~noise:${relay}~tunnel:nope`), {
      code: 'TUN_ERR_ID_INVALID',
    })
    assert.throws(
      () => formatNodeAddress({ transport: { kind: 'tcp', host: 'h', port: 1 }, tunnel: server }),
      {
        code: 'TUN_ERR_ADDRESS_SYNTAX',
      },
    )
  })
})
