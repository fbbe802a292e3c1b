// Writes one image as an OCI image-layout tar (oci-layout, index.json, blobs/sha256/*),
// the format `ctr -n k8s.io images import` reads. Layers are uncompressed tars, so a
// layer's digest is also its diff_id. JSON is built with a fixed key order and no
// whitespace, so the config and manifest digests depend only on the inputs.
import { createHash } from 'node:crypto'
import type { RuntimeConfig } from './spec.ts'
import { BASE_ENV } from './spec.ts'
import { normalise, writeTar, type Entry, type TarResult } from './tar.ts'

export interface LayerBlob { name: string, file: string, digest: string, size: number }

export interface OciImage {
  /** Fully qualified reference, e.g. docker.io/dawn/node:0.1.0 */
  name: string
  config: RuntimeConfig
  layers: LayerBlob[]
  /** Seconds since the epoch: the config's `created` and every tar entry's mtime. */
  mtime: number
}

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar'
} as const

/** containerd names an imported image after this annotation of its index entry. */
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name'
/** The OCI spec's name for the entry: the tag, as `ctr export` writes it. */
export const OCI_REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name'
const PLATFORM = { architecture: 'amd64', os: 'linux' } as const

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v))
const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

/** The tag of a reference (`docker.io/dawn/node:0.1.0` → `0.1.0`); references here always carry one. */
export function tagOf (name: string): string {
  const colon = name.lastIndexOf(':')
  if (colon <= name.lastIndexOf('/') || colon === name.length - 1) throw new Error(`image name ${name} has no tag`)
  return name.slice(colon + 1)
}

/** The OCI image config (what `ctr run` and the CRI read: user, env, entrypoint, ...). */
export function imageConfig (img: OciImage): Buffer {
  const c = img.config
  const created = new Date(img.mtime * 1000).toISOString().replace('.000Z', 'Z')
  return json({
    created,
    architecture: PLATFORM.architecture,
    os: PLATFORM.os,
    config: {
      User: c.user,
      ...(c.ports.length > 0 ? { ExposedPorts: Object.fromEntries(c.ports.map(p => [`${p}/tcp`, {}])) } : {}),
      Env: Object.entries({ ...BASE_ENV, ...c.env }).map(([k, v]) => `${k}=${v}`),
      Entrypoint: c.entrypoint,
      ...(c.cmd === undefined ? {} : { Cmd: c.cmd }),
      ...(c.workingDir === undefined ? {} : { WorkingDir: c.workingDir })
    },
    rootfs: { type: 'layers', diff_ids: img.layers.map(l => l.digest) },
    history: img.layers.map(l => ({ created, created_by: `dawn images: ${l.name}` }))
  })
}

export interface ArchiveResult extends TarResult {
  /** The manifest's digest: the image's identity in containerd (`ctr images ls`). */
  manifestDigest: string
}

export async function writeOciArchive (img: OciImage, out: string, signal?: AbortSignal): Promise<ArchiveResult> {
  const config = imageConfig(img)
  const manifest = json({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: { mediaType: MEDIA_TYPES.config, digest: digestOf(config), size: config.length },
    layers: img.layers.map(l => ({ mediaType: MEDIA_TYPES.layer, digest: l.digest, size: l.size }))
  })
  const manifestDigest = digestOf(manifest)
  const index = json({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.index,
    manifests: [{
      mediaType: MEDIA_TYPES.manifest,
      digest: manifestDigest,
      size: manifest.length,
      annotations: { [CONTAINERD_NAME_ANNOTATION]: img.name, [OCI_REF_NAME_ANNOTATION]: tagOf(img.name) },
      platform: PLATFORM
    }]
  })
  const blob = (digest: string): string => `blobs/sha256/${digest.slice('sha256:'.length)}`
  const data = (path: string, b: Buffer): Entry => ({ type: 'file', path, mode: 0o644, size: b.length, data: b })
  const blobs = new Map<string, Entry>() // two layers with the same bytes are one blob
  for (const l of img.layers) blobs.set(l.digest, { type: 'file', path: blob(l.digest), mode: 0o644, size: l.size, source: l.file })
  blobs.set(digestOf(config), data(blob(digestOf(config)), config))
  blobs.set(manifestDigest, data(blob(manifestDigest), manifest))
  const entries = normalise([
    data('oci-layout', json({ imageLayoutVersion: '1.0.0' })),
    data('index.json', index),
    ...blobs.values()
  ])
  return { ...await writeTar(entries, out, { mtime: img.mtime, signal }), manifestDigest }
}
