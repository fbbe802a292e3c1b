// A JSON import, not a file read: the bundle (local-mesh/node-bundle.ts) inlines it, so the
// version does not depend on where the running file sits.
import pkg from '../package.json' with { type: 'json' }

export const VERSION: string = pkg.version
