// Markdown from agents becomes HTML only through DOMPurify with an allow-list, and only
// this module may write HTML into the page: the CSP's Trusted Types rule
// (`trusted-types dawn-markdown`) makes every other innerHTML assignment throw.
import { Marked, DOMPurify } from '/ui/vendor/ui-libs.js'

const ALLOWED_TAGS = ['p', 'br', 'hr', 'strong', 'em', 'del', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'span']
const ALLOWED_ATTR = ['href', 'title', 'align']
const SAFE_LINK = /^(https?:|mailto:)/i

const marked = new Marked({ gfm: true, breaks: true, async: false })
// Raw HTML in markdown is shown as text, and images are dropped: an agent's text never loads a URL by itself.
marked.use({
  renderer: {
    html: ({ text }) => escapeHtml(text),
    image: ({ text }) => escapeHtml(text)
  }
})

const purify = DOMPurify(window)
purify.addHook('afterSanitizeAttributes', node => {
  if (node.tagName === 'A') {
    const href = node.getAttribute('href') ?? ''
    if (!SAFE_LINK.test(href)) node.removeAttribute('href')
    node.setAttribute('rel', 'noopener noreferrer')
    node.setAttribute('target', '_blank')
  }
})

const policy = window.trustedTypes?.createPolicy('dawn-markdown', {
  createHTML: (dirty) => purify.sanitize(dirty, { ALLOWED_TAGS, ALLOWED_ATTR: [...ALLOWED_ATTR, 'rel', 'target'], ALLOW_DATA_ATTR: false })
})

function escapeHtml (s) {
  return String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])
}

/** Sanitized HTML for preact's dangerouslySetInnerHTML (a TrustedHTML where the browser has Trusted Types). */
export function markdownHtml (text) {
  const raw = marked.parse(String(text))
  if (policy !== undefined) return policy.createHTML(raw)
  return purify.sanitize(raw, { ALLOWED_TAGS, ALLOWED_ATTR: [...ALLOWED_ATTR, 'rel', 'target'], ALLOW_DATA_ATTR: false })
}
