/** The API group, version and category shared by every Dawn custom resource. */
export const GROUP = 'mesh.dawn.dev'
export const VERSION = 'v1alpha1'
export const API_VERSION = `${GROUP}/${VERSION}`
export const CATEGORY = 'dawn'

export const KINDS = {
  network: 'DawnNetwork',
  node: 'DawnNode',
  agent: 'DawnAgent'
} as const
