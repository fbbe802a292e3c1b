// The API token lives in sessionStorage (this tab), or in localStorage when the person
// asks to be remembered. Never in IndexedDB or the history.
const KEY = 'dawn-token'

export function loadToken () {
  return sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY) ?? undefined
}

export function saveToken (token, remember) {
  sessionStorage.setItem(KEY, token)
  if (remember) localStorage.setItem(KEY, token)
  else localStorage.removeItem(KEY)
}

export function forgetToken () {
  sessionStorage.removeItem(KEY)
  localStorage.removeItem(KEY)
}
