import assert from 'node:assert/strict'
import { setImmediate as tick } from 'node:timers/promises'
import { describe, test } from 'node:test'
import {
  RESOLVE_TIMEOUT_MS,
  resolveTarget,
  type LookupAddress,
  type TargetLookup,
} from '../../../src/policy/resolve.ts'
import { TargetPolicy } from '../../../src/policy/targets.ts'

/** A lookup that answers from a table and records what it was asked. */
function fakeLookup(table: Record<string, LookupAddress[] | Error>): TargetLookup & { calls: string[] } {
  const calls: string[] = []
  const lookup = async (host: string): Promise<readonly LookupAddress[]> => {
    calls.push(host)
    const answer = table[host]
    if (answer === undefined)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
    if (answer instanceof Error) throw answer
    return answer
  }
  return Object.assign(lookup, { calls })
}

const v4 = (address: string): LookupAddress => ({ address, family: 4 })
const v6 = (address: string): LookupAddress => ({ address, family: 6 })
/** A lookup that never answers, and records the signal it was given. */
function hangingLookup(): TargetLookup & { signals: AbortSignal[] } {
  const signals: AbortSignal[] = []
  const lookup: TargetLookup = (_host, { signal }) => {
    signals.push(signal)
    return new Promise(() => {})
  }
  return Object.assign(lookup, { signals })
}

const policy = new TargetPolicy(['10.0.0.0/8:22', '[fd00::/8]:22'])

describe('resolveTarget', () => {
  test('an allowed name resolves to its address', async () => {
    const lookup = fakeLookup({ 'db.internal': [v4('10.0.0.5')] })
    const target = await resolveTarget({ host: 'db.internal', port: 22 }, policy, { lookup })
    assert.deepEqual(target, { address: '10.0.0.5', port: 22, family: 4 })
    assert.deepEqual(lookup.calls, ['db.internal'], 'looked up once')
  })

  test('the host is normalised before the lookup', async () => {
    const lookup = fakeLookup({ 'db.internal': [v4('10.0.0.5')] })
    await resolveTarget({ host: 'DB.Internal', port: 22 }, policy, { lookup })
    assert.deepEqual(lookup.calls, ['db.internal'])
  })

  test('every address denied: TUN_ERR_TARGET_DENIED naming host and addresses, not the rules', async () => {
    const lookup = fakeLookup({ 'evil.example': [v4('127.0.0.1'), v6('::1'), v4('10.0.0.1')] })
    await assert.rejects(
      resolveTarget({ host: 'evil.example', port: 80 }, policy, { lookup }),
      (err: Error) => {
        assert.equal((err as { code?: string }).code, 'TUN_ERR_TARGET_DENIED')
        assert.match(err.message, /^target evil\.example:80 \(resolved to 127\.0\.0\.1, ::1, 10\.0\.0\.1\)/)
        assert.match(err.message, /not in this server's allow-list/)
        assert.doesNotMatch(err.message, /10\.0\.0\.0|fd00/, 'the policy is not in the message')
        return true
      },
    )
  })

  test('a long answer is listed in part', async () => {
    const answers = Array.from({ length: 9 }, (_, i) => v4(`127.0.0.${i + 1}`))
    const lookup = fakeLookup({ 'many.example': answers })
    await assert.rejects(resolveTarget({ host: 'many.example', port: 22 }, policy, { lookup }), {
      code: 'TUN_ERR_TARGET_DENIED',
      message: /127\.0\.0\.4 and 5 more\)/,
    })
  })

  test('mixed answers: the first allowed address wins, even when DNS lists a denied one first', async () => {
    const lookup = fakeLookup({ mixed: [v4('192.0.2.1'), v6('fd00::7'), v4('10.0.0.9')] })
    const target = await resolveTarget({ host: 'mixed', port: 22 }, policy, { lookup })
    assert.deepEqual(target, { address: 'fd00::7', port: 22, family: 6 })
  })

  test('mapped answers are checked and returned as IPv4', async () => {
    const lookup = fakeLookup({ mapped: [v6('::ffff:10.1.2.3')], sneaky: [v6('::ffff:127.0.0.1')] })
    assert.deepEqual(await resolveTarget({ host: 'mapped', port: 22 }, policy, { lookup }), {
      address: '10.1.2.3',
      port: 22,
      family: 4,
    })
    await assert.rejects(resolveTarget({ host: 'sneaky', port: 22 }, policy, { lookup }), {
      code: 'TUN_ERR_TARGET_DENIED',
    })
  })

  test('a name that is not found: TUN_ERR_TARGET_UNREACHABLE with the cause', async () => {
    const lookup = fakeLookup({})
    await assert.rejects(
      resolveTarget({ host: 'nowhere.invalid', port: 22 }, policy, { lookup }),
      (err: Error) => {
        assert.equal((err as { code?: string }).code, 'TUN_ERR_TARGET_UNREACHABLE')
        assert.match(err.message, /nowhere\.invalid: name not found/)
        assert.equal((err.cause as { code?: string }).code, 'ENOTFOUND')
        return true
      },
    )
  })

  test('an empty or unusable answer: TUN_ERR_TARGET_UNREACHABLE', async () => {
    const lookup = fakeLookup({ empty: [], junk: [{ address: 'not-an-ip', family: 4 }] })
    for (const host of ['empty', 'junk']) {
      await assert.rejects(resolveTarget({ host, port: 22 }, policy, { lookup }), {
        code: 'TUN_ERR_TARGET_UNREACHABLE',
        message: /no addresses/,
      })
    }
  })

  test('a lookup that never answers times out at RESOLVE_TIMEOUT_MS and is aborted', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const lookup = hangingLookup()
    let settled = false
    const result = resolveTarget({ host: 'slow.example', port: 22 }, policy, { lookup })
    result.then(
      () => (settled = true),
      () => (settled = true),
    )
    t.mock.timers.tick(RESOLVE_TIMEOUT_MS - 1)
    await tick()
    assert.equal(settled, false, 'still waiting 1 ms before the bound')
    t.mock.timers.tick(1)
    await assert.rejects(result, {
      code: 'TUN_ERR_TARGET_UNREACHABLE',
      message: /slow\.example: no answer within 5000 ms/,
    })
    assert.equal(lookup.signals[0]?.aborted, true, 'the lookup was told to give up')
  })

  test('timeoutMs overrides the bound', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const result = resolveTarget({ host: 'slow.example', port: 22 }, policy, {
      lookup: hangingLookup(),
      timeoutMs: 50,
    })
    t.mock.timers.tick(50)
    await assert.rejects(result, { code: 'TUN_ERR_TARGET_UNREACHABLE', message: /within 50 ms/ })
  })

  test("the caller's signal aborts the lookup: TUN_ERR_ABORTED", async () => {
    const controller = new AbortController()
    const lookup = hangingLookup()
    const result = resolveTarget({ host: 'slow.example', port: 22 }, policy, {
      lookup,
      signal: controller.signal,
    })
    controller.abort(new Error('client went away'))
    await assert.rejects(result, { code: 'TUN_ERR_ABORTED' })
    assert.equal(lookup.signals[0]?.aborted, true)
    await assert.rejects(
      resolveTarget({ host: 'x.example', port: 22 }, policy, { lookup, signal: controller.signal }),
      {
        code: 'TUN_ERR_ABORTED',
      },
    )
  })

  test('IP literals are checked without calling lookup', async () => {
    const lookup = fakeLookup({})
    const cases: [string, string, 4 | 6][] = [
      ['10.0.0.1', '10.0.0.1', 4],
      ['::ffff:10.0.0.1', '10.0.0.1', 4],
      ['fd00:0:0:0:0:0:0:1', 'fd00::1', 6],
    ]
    for (const [host, address, family] of cases) {
      assert.deepEqual(await resolveTarget({ host, port: 22 }, policy, { lookup }), {
        address,
        port: 22,
        family,
      })
    }
    await assert.rejects(resolveTarget({ host: '127.0.0.1', port: 22 }, policy, { lookup }), {
      code: 'TUN_ERR_TARGET_DENIED',
      message: /^target 127\.0\.0\.1:22 is not in/,
    })
    await assert.rejects(resolveTarget({ host: '::1', port: 22 }, policy, { lookup }), {
      code: 'TUN_ERR_TARGET_DENIED',
      message: /^target \[::1\]:22 is not in/,
    })
    // 127.1 is 127.0.0.1 to the resolver; it is checked as that, without DNS.
    await assert.rejects(
      resolveTarget({ host: '127.1', port: 22 }, new TargetPolicy(['10.0.0.0/8']), { lookup }),
      {
        code: 'TUN_ERR_TARGET_DENIED',
      },
    )
    assert.deepEqual(lookup.calls, [], 'lookup was never called')
  })

  test('an empty policy denies even a name that resolves', async () => {
    const lookup = fakeLookup({ localhost: [v4('127.0.0.1')] })
    await assert.rejects(resolveTarget({ host: 'localhost', port: 22 }, new TargetPolicy(), { lookup }), {
      code: 'TUN_ERR_TARGET_DENIED',
    })
  })

  test('bad arguments: TUN_ERR_INVALID_ARGUMENT, before any lookup', async () => {
    const lookup = fakeLookup({})
    const bad: [{ host: string; port: number }, number | undefined][] = [
      [{ host: 'a.example', port: 0 }, undefined],
      [{ host: 'a.example', port: 65536 }, undefined],
      [{ host: 'a.example', port: 22.5 }, undefined],
      [{ host: '', port: 22 }, undefined],
      [{ host: 'a b', port: 22 }, undefined],
      [{ host: '[::1]', port: 22 }, undefined],
      [{ host: 'fe80::1%eth0', port: 22 }, undefined],
      [{ host: 'a.example', port: 22 }, 0],
      [{ host: 'a.example', port: 22 }, -5],
      [{ host: 'a.example', port: 22 }, Number.NaN],
    ]
    for (const [target, timeoutMs] of bad) {
      await assert.rejects(resolveTarget(target, policy, { lookup, timeoutMs }), {
        code: 'TUN_ERR_INVALID_ARGUMENT',
      })
    }
    assert.deepEqual(lookup.calls, [])
  })

  test('a lookup that throws synchronously is a lookup failure', async () => {
    const lookup: TargetLookup = () => {
      throw new Error('boom')
    }
    await assert.rejects(resolveTarget({ host: 'a.example', port: 22 }, policy, { lookup }), {
      code: 'TUN_ERR_TARGET_UNREACHABLE',
      message: /lookup failed/,
    })
  })

  test('the default lookup is the system resolver (localhost, from /etc/hosts)', async () => {
    const local = new TargetPolicy(['127.0.0.0/8:22', '[::1]:22'])
    const target = await resolveTarget({ host: 'localhost', port: 22 }, local)
    assert.ok(target.address === '127.0.0.1' || target.address === '::1', target.address)
  })
})
