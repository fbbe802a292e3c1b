import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * node-image/src/ui/, found from the nearest ancestor of this module that holds it: that is
 * node-image/ both from src/http/ and from the bundle in node-image/dist/ (where
 * import.meta.url is the bundle's), so the lookup does not depend on the file's depth.
 */
function findUiDir (from: URL): string {
  for (let dir = new URL('./', from); ; dir = new URL('../', dir)) {
    const ui = new URL('src/ui/', dir)
    if (existsSync(new URL('index.html', ui))) return fileURLToPath(ui)
    if (dir.pathname === '/') throw new Error(`no src/ui/index.html above ${fileURLToPath(from)}`)
  }
}

export const UI_DIR: string = findUiDir(new URL(import.meta.url))
