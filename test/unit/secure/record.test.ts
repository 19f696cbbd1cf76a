import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import sodium from 'sodium-native'
import { MAX_RECORD_PLAINTEXT, RecordOpener, RecordSealer, rekey } from '../../../src/secure/record.ts'

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex')
const join = (bufs: Uint8Array[]): Buffer => Buffer.concat(bufs)

function sealAll(messages: Uint8Array[], key = KEY, limits = {}): Buffer {
  const sealer = new RecordSealer(key, limits)
  return join(messages.flatMap((m) => sealer.seal([m], m.length)).concat(sealer.sealEnd()))
}

// Record 0 of "burrow" under KEY: u24 length 0x16, then ChaCha20-Poly1305 (RFC 8439) with nonce
// 00000000 || LE64(0) and empty AD. Pinned, so a change to the format or nonce layout is caught.
const GOLDEN_BURROW = '0000167acd3043c291cb54899f9b56e2c9c2b85d1b61ebbc0b'

test('golden vector: a fixed key and plaintext give exact record bytes', () => {
  assert.equal(join(new RecordSealer(KEY).seal([Buffer.from('burrow')], 6)).toString('hex'), GOLDEN_BURROW)
  assert.deepEqual(join(new RecordOpener(KEY).push(Buffer.from(GOLDEN_BURROW, 'hex'))).toString(), 'burrow')
})

test('records match libsodium (an independent ChaCha20-Poly1305) at every counter, with the Noise nonce', () => {
  const sealer = new RecordSealer(KEY)
  for (let counter = 0; counter < 300; counter++) {
    const plaintext = randomBytes(counter % 97)
    const nonce = Buffer.alloc(12)
    nonce.writeUInt32LE(counter, 4)
    const expected = Buffer.alloc(plaintext.length + 16)
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(expected, plaintext, null, null, nonce, KEY)
    assert.deepEqual(join(sealer.seal([plaintext], plaintext.length)).subarray(3), expected)
  }
})

test('the header is the u24 length of ciphertext and tag', () => {
  const wire = join(new RecordSealer(KEY).seal([Buffer.alloc(1000)], 1000))
  assert.equal(wire.readUIntBE(0, 3), 1016)
  assert.equal(wire.length, 3 + 1016)
})

test('Noise REKEY is ENCRYPT(k, 2^64-1, "", zeros)[0..32], and differs from the key', () => {
  const next = rekey(KEY)
  assert.equal(next.length, 32)
  assert.notDeepEqual(next, KEY)
  assert.deepEqual(rekey(KEY), next)
})

test('records split at every offset decode to the same plaintext', () => {
  const messages = [Buffer.from('a'), randomBytes(300), Buffer.alloc(0), randomBytes(70)].filter(
    (m) => m.length > 0,
  )
  const wire = sealAll(messages)
  const expected = join(messages)
  for (let cut = 0; cut <= wire.length; cut++) {
    const opener = new RecordOpener(KEY)
    const out = [...opener.push(wire.subarray(0, cut)), ...opener.push(wire.subarray(cut))]
    assert.deepEqual(join(out), expected, `cut at ${cut}`)
    assert.ok(opener.ended)
  }
  const opener = new RecordOpener(KEY)
  const out: Buffer[] = []
  for (let i = 0; i < wire.length; i++) out.push(...opener.push(wire.subarray(i, i + 1)))
  assert.deepEqual(join(out), expected, 'byte by byte')
})

test('sealing a list of pieces equals sealing their concatenation', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 9000 }), { maxLength: 8 }), (pieces) => {
      const length = pieces.reduce((n, p) => n + p.length, 0)
      fc.pre(length <= MAX_RECORD_PLAINTEXT)
      assert.deepEqual(
        join(new RecordSealer(KEY).seal(pieces, length)),
        join(new RecordSealer(KEY).seal([join(pieces)], length)),
      )
    }),
    { numRuns: 50 },
  )
})

test('flipping any bit of any record is detected (TUN_ERR_DECRYPT) and no forged plaintext is released', () => {
  const plaintext = randomBytes(200)
  const wire = sealAll([plaintext.subarray(0, 100), plaintext.subarray(100)])
  for (let bit = 0; bit < wire.length * 8; bit++) {
    const bad = Buffer.from(wire)
    bad[bit >> 3] = (bad[bit >> 3] ?? 0) ^ (1 << (bit & 7))
    const opener = new RecordOpener(KEY)
    const released: Buffer[] = []
    let error: unknown
    try {
      for (let i = 0; i < bad.length; i += 37) released.push(...opener.push(bad.subarray(i, i + 37)))
      opener.end()
    } catch (err) {
      error = err
    }
    assert.ok(error, `bit ${bit} flipped went undetected`)
    const code = (error as { code?: string }).code
    assert.ok(
      ['TUN_ERR_DECRYPT', 'TUN_ERR_RECORD_TOO_LARGE', 'TUN_ERR_TRUNCATED'].includes(code ?? ''),
      `bit ${bit}: ${code}`,
    )
    // Whatever was released before the error must be a prefix of the real plaintext.
    const got = join(released)
    assert.deepEqual(got, plaintext.subarray(0, got.length), `bit ${bit}: forged plaintext released`)
  }
})

test('truncation: EOF inside a record or before the end-of-data record is TUN_ERR_TRUNCATED', () => {
  const wire = sealAll([Buffer.from('complete')])
  for (let cut = 0; cut < wire.length; cut++) {
    const opener = new RecordOpener(KEY)
    try {
      opener.push(wire.subarray(0, cut))
    } catch {
      assert.fail('a prefix must not fail')
    }
    assert.throws(() => opener.end(), { code: 'TUN_ERR_TRUNCATED' }, `cut at ${cut}`)
  }
  const opener = new RecordOpener(KEY)
  opener.push(wire)
  opener.end()
})

test('an oversized record header is refused before any body arrives', () => {
  const header = Buffer.alloc(3)
  header.writeUIntBE(MAX_RECORD_PLAINTEXT + 17, 0, 3)
  assert.throws(() => new RecordOpener(KEY).push(header), { code: 'TUN_ERR_RECORD_TOO_LARGE' })
  const short = Buffer.from([0, 0, 15])
  assert.throws(() => new RecordOpener(KEY).push(short), { code: 'TUN_ERR_DECRYPT' })
  assert.throws(
    () => new RecordSealer(KEY).seal([Buffer.alloc(MAX_RECORD_PLAINTEXT + 1)], MAX_RECORD_PLAINTEXT + 1),
    {
      code: 'TUN_ERR_RECORD_TOO_LARGE',
    },
  )
})

test('rekey by record count and by bytes: both ends agree, keys change, the stream stays intact', () => {
  for (const limits of [{ records: 3 }, { bytes: 1000 }]) {
    const messages = Array.from({ length: 20 }, () => randomBytes(400))
    const wire = sealAll(messages, KEY, limits)
    const opener = new RecordOpener(KEY, limits)
    assert.deepEqual(join(opener.push(wire)), join(messages))
    assert.ok(opener.ended)
    // Without the same limits the receiver fails at the first rekeyed record: the key did change.
    assert.throws(() => new RecordOpener(KEY).push(wire), { code: 'TUN_ERR_DECRYPT' })
  }
})

test('nonces are never reused: the same plaintext never gives the same ciphertext twice', () => {
  const sealer = new RecordSealer(KEY, { records: 5 })
  const seen = new Set<string>()
  for (let i = 0; i < 200; i++) {
    const record = join(sealer.seal([Buffer.from('same plaintext')], 14)).toString('hex')
    assert.ok(!seen.has(record), `record ${i} repeats an earlier one`)
    seen.add(record)
  }
})

test('random bytes into an opener give plaintext or a coded error, never another exception', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 6 }), (chunks) => {
      const opener = new RecordOpener(KEY)
      try {
        for (const c of chunks) opener.push(c)
        opener.end()
      } catch (err) {
        assert.match(String((err as { code?: string }).code), /^TUN_ERR_/)
      }
    }),
    { numRuns: 500 },
  )
})

test('64 MiB round trip in 64 KiB records keeps every byte (sha256)', () => {
  const sealer = new RecordSealer(KEY)
  const opener = new RecordOpener(KEY)
  const chunk = randomBytes(MAX_RECORD_PLAINTEXT)
  const sent = createHash('sha256')
  const got = createHash('sha256')
  for (let i = 0; i < 1024; i++) {
    chunk.writeUInt32BE(i, 0)
    sent.update(chunk)
    for (const buf of sealer.seal([chunk], chunk.length)) for (const p of opener.push(buf)) got.update(p)
  }
  assert.equal(got.digest('hex'), sent.digest('hex'))
})

describe('clear records (authenticated, not encrypted)', () => {
  const mixed = (): { wire: Buffer; plain: Buffer } => {
    const sealer = new RecordSealer(KEY)
    const parts = [
      Buffer.from('encrypted one'),
      Buffer.from('clear two: already ciphertext'),
      Buffer.from('three'),
    ]
    const wire = join([
      ...sealer.seal([parts[0] as Buffer], 13),
      ...sealer.sealClear([(parts[1] as Buffer).subarray(0, 10), (parts[1] as Buffer).subarray(10)], 29),
      ...sealer.seal([parts[2] as Buffer], 5),
      ...sealer.sealEnd(),
    ])
    return { wire, plain: join(parts) }
  }

  test('the payload travels as it is, the flag marks the header, and the stream decodes at every split', () => {
    const { wire, plain } = mixed()
    assert.ok(wire.includes(Buffer.from('clear two: already ciphertext')), 'clear payload visible as is')
    assert.ok(!wire.includes(Buffer.from('encrypted one')), 'encrypted payload hidden')
    for (let cut = 0; cut <= wire.length; cut++) {
      const opener = new RecordOpener(KEY)
      assert.deepEqual(
        join([...opener.push(wire.subarray(0, cut)), ...opener.push(wire.subarray(cut))]),
        plain,
        `cut ${cut}`,
      )
      assert.ok(opener.ended)
    }
  })

  test('a clear record of a given key decodes only with that key, and shares the nonce sequence', () => {
    const sealer = new RecordSealer(KEY)
    const clear = join(sealer.sealClear([Buffer.from('x')], 1))
    assert.equal(clear.readUIntBE(0, 3) & 0x800000, 0x800000)
    assert.throws(() => new RecordOpener(Buffer.alloc(32, 9)).push(clear), { code: 'TUN_ERR_DECRYPT' })
    // The next encrypted record uses nonce 1: an opener that saw the clear record first agrees.
    const next = join(sealer.seal([Buffer.from('y')], 1))
    const opener = new RecordOpener(KEY)
    assert.deepEqual(join([...opener.push(clear), ...opener.push(next)]).toString(), 'xy')
  })

  test('flipping any bit of a stream with clear records is detected, and nothing forged is released', () => {
    const { wire, plain } = mixed()
    for (let bit = 0; bit < wire.length * 8; bit++) {
      const bad = Buffer.from(wire)
      bad[bit >> 3] = (bad[bit >> 3] ?? 0) ^ (1 << (bit & 7))
      const opener = new RecordOpener(KEY)
      const released: Buffer[] = []
      let error: unknown
      try {
        for (let i = 0; i < bad.length; i += 11) released.push(...opener.push(bad.subarray(i, i + 11)))
        opener.end()
      } catch (err) {
        error = err
      }
      assert.ok(error, `bit ${bit} flipped went undetected`)
      const got = join(released)
      assert.deepEqual(got, plain.subarray(0, got.length), `bit ${bit}: forged bytes released`)
    }
  })

  test('an empty clear record is not an end of data', () => {
    const sealer = new RecordSealer(KEY)
    const wire = join([...sealer.sealClear([], 0), ...sealer.seal([Buffer.from('after')], 5)])
    const opener = new RecordOpener(KEY)
    assert.equal(join(opener.push(wire)).toString(), 'after')
    assert.ok(!opener.ended)
  })
})
