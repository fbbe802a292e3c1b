// Light and dark themes: the system's preference until the person picks one.
const KEY = 'dawn-theme'

export function currentTheme () {
  return document.documentElement.dataset.theme ?? 'light'
}

export function applyTheme () {
  const saved = localStorage.getItem(KEY)
  const theme = saved ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light')
  document.documentElement.dataset.theme = theme
  return theme
}

export function toggleTheme () {
  const next = currentTheme() === 'dark' ? 'light' : 'dark'
  localStorage.setItem(KEY, next)
  document.documentElement.dataset.theme = next
  return next
}
