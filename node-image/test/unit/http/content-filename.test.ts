// Downloads under the uploader's file name: RFC 6266 attachment with an RFC 8187 filename*, never rendered.
import { afterEach, describe, expect, it } from 'vitest'
import { attachmentDisposition, MAX_FILENAME_CHARS, safeFilename } from '../../../src/http/content-disposition.ts'
import { startContentServer, type ContentServer } from '../content-double.ts'

const servers: ContentServer[] = []
afterEach(async () => { for (const s of servers.splice(0)) await s.app.close() })

describe('attachmentDisposition', () => {
  it('percent-encodes UTF-8 to attr-chars only', () => {
    expect(attachmentDisposition('résumé 2026.pdf')).toBe("attachment; filename*=UTF-8''r%C3%A9sum%C3%A9%202026.pdf")
    expect(attachmentDisposition("a(b)*c!~.txt")).toBe("attachment; filename*=UTF-8''a%28b%29%2Ac!~.txt")
    expect(attachmentDisposition('日本.txt')).toBe("attachment; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt")
  })

  it('replaces control characters, bidi overrides, quotes and slashes', () => {
    expect(safeFilename('../../etc/passwd')).toBe('.._.._etc_passwd')
    expect(safeFilename('a\\b"c\'d')).toBe('a_b_c_d')
    expect(safeFilename('x\r\nSet-Cookie: a=b')).toBe('x__Set-Cookie: a=b')
    expect(safeFilename('invoice\u202Efdp.exe')).toBe('invoice_fdp.exe')
    expect(safeFilename('lone \ud800 surrogate')).toBe('lone _ surrogate')
    expect(safeFilename('   ')).toBe('download')
    expect(safeFilename('..')).toBe('download')
  })

  it('keeps at most 255 characters, never splitting a character', () => {
    expect(Array.from(safeFilename('a'.repeat(400)))).toHaveLength(MAX_FILENAME_CHARS)
    const emoji = safeFilename('😀'.repeat(300))
    expect(Array.from(emoji)).toHaveLength(MAX_FILENAME_CHARS)
    expect(emoji).toBe('😀'.repeat(MAX_FILENAME_CHARS))
    // The header value is plain ASCII, whatever the name.
    expect(attachmentDisposition('😀'.repeat(300) + '\u0000')).toMatch(/^[\x21-\x7e ]+$/)
  })
})

describe('GET /api/v1/content/:cid?filename=', () => {
  it('adds the attachment header and keeps octet-stream and nosniff; without the query, no header', async () => {
    const s = await startContentServer()
    servers.push(s)
    const cid = s.content.put('<script>alert(1)</script>')
    const named = await fetch(`${s.url}/api/v1/content/${cid}?filename=${encodeURIComponent('page "1".html')}`)
    expect(named.status).toBe(200)
    expect(named.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''page%20_1_.html")
    expect(named.headers.get('content-type')).toBe('application/octet-stream')
    expect(named.headers.get('x-content-type-options')).toBe('nosniff')
    expect(await named.text()).toBe('<script>alert(1)</script>')

    const plain = await fetch(`${s.url}/api/v1/content/${cid}`)
    expect(plain.headers.get('content-disposition')).toBeNull()
    await plain.body?.cancel()

    expect((await fetch(`${s.url}/api/v1/content/${cid}?filename=${'a'.repeat(1025)}`)).status).toBe(400)
    const missing = await fetch(`${s.url}/api/v1/content/${'0'.repeat(64)}?filename=x.txt`)
    expect(missing.status).toBe(404)
    expect(missing.headers.get('content-disposition')).toBeNull()
  })
})
