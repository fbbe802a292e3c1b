// A dynamic provisioner of `local` PersistentVolumes for the single-node test cluster, in the
// spirit of rancher's local-path-provisioner but host-side (no image, no registry here).
//
// Flow (StorageClass with volumeBindingMode WaitForFirstConsumer):
//   1. the scheduler picks a node for a pod and writes `volume.kubernetes.io/selected-node` on
//      its unbound claims; kube-controller-manager's PV controller then (and only then) hands the
//      claim to the external provisioner (annotation `volume.kubernetes.io/storage-provisioner`);
//   2. we create <volumesDir>/pvc-<uid> and a PV pre-bound to the claim (claimRef with its uid)
//      with node affinity on this node; the PV controller binds the pair (no kubelet needed);
//   3. when the claim is deleted the PV controller marks the PV Released and, seeing an external
//      `pv.kubernetes.io/provisioned-by`, leaves deletion to us: we remove the directory and the PV.
//
// Objects come from our own list+watch loops (the library's ListWatch stops for good on a list
// error and can start a watch after stop()); handling goes through a keyed queue that reads the
// latest cached object, so retries never act on a stale copy.
import { mkdir, chmod, lstat, rm, unlink } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import {
  ApiException, CoreV1Api, KubeConfig, StorageV1Api, Watch,
  type KubernetesObject, type V1PersistentVolume, type V1PersistentVolumeClaim, type V1StorageClass
} from '@kubernetes/client-node'

export const PROVISIONER_NAME = 'dawn.dev/local-volume'
export const STORAGE_CLASS_NAME = 'dawn-local'
const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node'
const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner'
const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner'
const ANN_BETA_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class'
const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by'
const HOSTNAME_LABEL = 'kubernetes.io/hostname'

export function storageClassManifest (): V1StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    // Default class: claims without storageClassName (most charts) land here too.
    metadata: { name: STORAGE_CLASS_NAME, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: PROVISIONER_NAME,
    // The directory must be on the node the pod runs on, so wait for the scheduler's choice.
    volumeBindingMode: 'WaitForFirstConsumer',
    reclaimPolicy: 'Delete',
    allowVolumeExpansion: false
  }
}

/** What the provisioner concluded about one object (every time it looked at it). */
export interface Decision {
  kind: 'PersistentVolumeClaim' | 'PersistentVolume'
  /** `namespace/name` for claims, `name` for volumes */
  key: string
  action: 'provisioned' | 'deleted' | 'skipped' | 'failed'
  reason: string
}

export interface LocalProvisioner { start: () => Promise<void>, stop: () => Promise<void> }

export interface LocalProvisionerInit {
  kubeconfigPath: string
  nodeName: string
  volumesDir: string
  log?: (m: string) => void
  /** Called after each look at an object (tests use it to see that a claim was considered). */
  onDecision?: (d: Decision) => void
  /** Re-examine every cached object this often (catches e.g. a class created after its claims); default 30 s. */
  resyncMs?: number
}

const code = (e: unknown): number | undefined => e instanceof ApiException ? e.code : undefined
const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e)).slice(0, 400)
const backoffMs = (attempt: number): number => Math.min(500 * 2 ** Math.max(0, attempt - 1), 30_000)
// A function call, so TypeScript does not narrow `aborted` to false across awaits.
const isAborted = (s: AbortSignal): boolean => s.aborted

export function createLocalProvisioner (init: LocalProvisionerInit): LocalProvisioner {
  const log = init.log ?? ((): void => {})
  const volumesDir = resolve(init.volumesDir)
  const kc = new KubeConfig()
  kc.loadFromFile(init.kubeconfigPath)
  const core = kc.makeApiClient(CoreV1Api)
  const storage = kc.makeApiClient(StorageV1Api)
  const watch = new Watch(kc)

  const claims = new Map<string, V1PersistentVolumeClaim>()
  const volumes = new Map<string, V1PersistentVolume>()
  const claimKey = (c: V1PersistentVolumeClaim): string => `${c.metadata?.namespace ?? ''}/${c.metadata?.name ?? ''}`
  const volumeKey = (v: V1PersistentVolume): string => v.metadata?.name ?? ''

  // ---- keyed work queue: one worker, FIFO, latest state read at run time, per-key backoff
  type QKey = `pvc:${string}` | `pv:${string}`
  const pending = new Set<QKey>()
  const attempts = new Map<QKey, number>()
  const retryTimers = new Map<QKey, NodeJS.Timeout>()
  const lastReason = new Map<QKey, string>()
  let abort = new AbortController()
  let worker: Promise<void> | undefined
  let wake: (() => void) | undefined

  const enqueue = (k: QKey): void => {
    const t = retryTimers.get(k)
    if (t !== undefined) { clearTimeout(t); retryTimers.delete(k) }
    pending.add(k)
    wake?.()
  }

  const record = (k: QKey, d: Decision): void => {
    // Log changes only: resyncs revisit skipped objects every few seconds.
    const line = `${d.action}: ${d.reason}`
    if (lastReason.get(k) !== line) log(`${d.kind} ${d.key}: ${line}`)
    if (d.reason === 'gone') lastReason.delete(k); else lastReason.set(k, line)
    init.onDecision?.(d)
  }

  const runWorker = async (signal: AbortSignal): Promise<void> => {
    while (!signal.aborted) {
      const k = pending.values().next().value
      if (k === undefined) { await new Promise<void>(r => { wake = r }); wake = undefined; continue }
      pending.delete(k)
      const isClaim = k.startsWith('pvc:'), key = k.slice(k.indexOf(':') + 1)
      const kind = isClaim ? 'PersistentVolumeClaim' : 'PersistentVolume'
      try {
        const [action, reason] = isClaim ? await handleClaim(key) : await handleVolume(key)
        attempts.delete(k)
        record(k, { kind, key, action, reason })
      } catch (e) {
        if (isAborted(signal)) break
        const n = (attempts.get(k) ?? 0) + 1, wait = backoffMs(n)
        attempts.set(k, n)
        record(k, { kind, key, action: 'failed', reason: `${errText(e)} (attempt ${n}, retry in ${wait} ms)` })
        retryTimers.set(k, setTimeout(() => { retryTimers.delete(k); enqueue(k) }, wait))
      }
    }
  }

  type Outcome = [Decision['action'], string]

  async function handleClaim (key: string): Promise<Outcome> {
    const pvc = claims.get(key)
    if (pvc === undefined) return ['skipped', 'gone']
    const meta = pvc.metadata ?? {}
    const ann = meta.annotations ?? {}
    if (meta.deletionTimestamp !== undefined) return ['skipped', 'being deleted']
    if ((pvc.spec?.volumeName ?? '') !== '') return ['skipped', `already has volume ${pvc.spec?.volumeName ?? ''}`]
    // Same precedence as the PV controller: the beta annotation wins over spec.storageClassName.
    const className = ann[ANN_BETA_STORAGE_CLASS] ?? pvc.spec?.storageClassName ?? ''
    if (className === '') return ['skipped', 'no storage class']
    const selected = ann[ANN_SELECTED_NODE]
    if (selected === undefined) return ['skipped', 'no selected node yet (WaitForFirstConsumer)']
    if (selected !== init.nodeName) return ['skipped', `selected node ${selected} is not ${init.nodeName}`]
    const handedTo = ann[ANN_STORAGE_PROVISIONER] ?? ann[ANN_BETA_STORAGE_PROVISIONER]
    if (handedTo !== undefined && handedTo !== PROVISIONER_NAME) return ['skipped', `handed to provisioner ${handedTo}`]
    let cls: V1StorageClass
    try { cls = await storage.readStorageClass({ name: className }) } catch (e) {
      if (code(e) === 404) return ['skipped', `storage class ${className} not found`]
      throw e
    }
    if (cls.provisioner !== PROVISIONER_NAME) return ['skipped', `class ${className} is provisioned by ${cls.provisioner}`]
    if (pvc.spec?.volumeMode === 'Block') return ['skipped', 'block volumes are not supported']
    if (pvc.spec?.selector !== undefined) return ['skipped', 'claims with a selector are not supported']
    const size = pvc.spec?.resources?.requests?.storage
    if (size === undefined || meta.uid === undefined || meta.namespace === undefined || meta.name === undefined) return ['skipped', 'no storage request']

    const pvName = `pvc-${meta.uid}`
    // Made earlier; the claim's next update (kcm's annotation) may come before the binding.
    if (volumes.has(pvName)) return ['skipped', `${pvName} exists, waiting for kcm to bind it`]
    const path = join(volumesDir, pvName)
    // Root-owned 0755 (umask-proof): pods get write access through fsGroup, applied by the
    // kubelet's `local` volume plugin.
    await mkdir(path, { recursive: true, mode: 0o755 })
    await chmod(path, 0o755)
    const pv: V1PersistentVolume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pvName, annotations: { [ANN_PROVISIONED_BY]: PROVISIONER_NAME } },
      spec: {
        capacity: { storage: size },
        accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
        volumeMode: 'Filesystem',
        // Pre-bound (uid included): the PV controller binds it even in WaitForFirstConsumer mode,
        // where it never picks an unbound PV for a claim on its own.
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: meta.namespace, name: meta.name, uid: meta.uid },
        storageClassName: className,
        persistentVolumeReclaimPolicy: cls.reclaimPolicy ?? 'Delete',
        ...(cls.mountOptions !== undefined ? { mountOptions: cls.mountOptions } : {}),
        local: { path },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: HOSTNAME_LABEL, operator: 'In', values: [init.nodeName] }] }] } }
      }
    }
    try {
      await core.createPersistentVolume({ body: pv })
    } catch (e) {
      if (code(e) === 409) return ['provisioned', `${pvName} already existed (${path})`]
      throw e
    }
    return ['provisioned', `${pvName} at ${path} (${size})`]
  }

  async function handleVolume (name: string): Promise<Outcome> {
    const pv = volumes.get(name)
    if (pv === undefined) return ['skipped', 'gone']
    if (pv.metadata?.annotations?.[ANN_PROVISIONED_BY] !== PROVISIONER_NAME) return ['skipped', 'not provisioned by us']
    const values = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms.flatMap(t => t.matchExpressions ?? []).flatMap(m => m.values ?? []) ?? []
    // With several nodes, only the node holding the directory may delete it.
    if (!values.includes(init.nodeName)) return ['skipped', `volume of another node (${values.join(',')})`]
    const phase = pv.status?.phase ?? ''
    if (phase !== 'Released') return ['skipped', `phase ${phase === '' ? '(none)' : phase}`]
    if (pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') return ['skipped', `reclaim policy ${pv.spec?.persistentVolumeReclaimPolicy ?? '(none)'}`]
    const dir = resolve(pv.spec.local?.path ?? '/')
    // Only a direct child of volumesDir; anything else was not made by us (or was tampered with).
    // No retry: a resync reports it again, the PV stays for a human to look at.
    if (dirname(dir) !== volumesDir || basename(dir) === '') return ['skipped', `refusing to delete ${dir}: not inside ${volumesDir}`]
    await removeDir(dir)
    try { await core.deletePersistentVolume({ name }) } catch (e) { if (code(e) !== 404) throw e }
    return ['deleted', `${name} and ${dir}`]
  }

  // ---- list + watch, restarting on every end; re-list on 410 Gone and after errors
  const listWatch = async <T extends KubernetesObject>(what: string, path: string, list: () => Promise<{ items: T[], metadata?: { resourceVersion?: string } }>,
    cache: Map<string, T>, keyOf: (o: T) => string, qkey: (k: string) => QKey, signal: AbortSignal): Promise<void> => {
    let rv = ''
    let failures = 0
    while (!signal.aborted) {
      try {
        if (rv === '') {
          const l = await list()
          const fresh = new Map(l.items.map(o => [keyOf(o), o]))
          // Objects deleted while we were not watching: forget them.
          for (const k of cache.keys()) if (!fresh.has(k)) { cache.delete(k); enqueue(qkey(k)) }
          for (const [k, o] of fresh) { cache.set(k, o); enqueue(qkey(k)) }
          rv = l.metadata?.resourceVersion ?? ''
        }
        const started = Date.now()
        const end = await new Promise<{ err?: unknown, gone?: boolean }>(res => {
          let ctl: AbortController | undefined
          let gone = false
          let streamErr: Error | undefined
          const onAbort = (): void => { ctl?.abort() }
          signal.addEventListener('abort', onAbort, { once: true })
          const done = (err: unknown): void => { signal.removeEventListener('abort', onAbort); res({ err: err ?? streamErr, gone }) }
          // timeoutSeconds: the server ends the watch cleanly before the client's 30 s idle timer.
          watch.watch(path, { resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: 25 }, (type: string, obj: T & { code?: number, message?: string }) => {
            // An ERROR event is the last one of a stream; 410 means our resourceVersion is too old.
            if (type === 'ERROR') { if (obj.code === 410) gone = true; else streamErr = new Error(`watch error ${obj.code ?? ''}: ${obj.message ?? ''}`); return }
            rv = obj.metadata?.resourceVersion ?? rv
            if (type === 'BOOKMARK') return
            const k = keyOf(obj)
            if (type === 'DELETED') cache.delete(k); else cache.set(k, obj)
            enqueue(qkey(k))
          }, done).then(c => { ctl = c; if (signal.aborted) c.abort() }, done)
        })
        if (isAborted(signal)) break
        const status = (end.err as { statusCode?: number } | null | undefined)?.statusCode
        if (end.gone || status === 410) { rv = ''; continue }
        if (end.err !== null && end.err !== undefined && (end.err as Error).name !== 'TimeoutError') {
          throw end.err instanceof Error ? end.err : new Error(JSON.stringify(end.err))
        }
        failures = 0
        // A server that keeps closing at once must not turn this into a busy loop.
        if (Date.now() - started < 1000) await delay(1000, undefined, { signal }).catch(() => {})
      } catch (e) {
        if (isAborted(signal)) break
        failures++
        rv = ''
        const wait = backoffMs(failures)
        log(`${what} list/watch failed (${errText(e)}); retrying in ${wait} ms`)
        await delay(wait, undefined, { signal }).catch(() => {})
      }
    }
  }

  let loops: Array<Promise<void>> = []
  let resync: NodeJS.Timeout | undefined

  return {
    async start () {
      if (worker !== undefined) return
      abort = new AbortController()
      const { signal } = abort
      await mkdir(volumesDir, { recursive: true })
      worker = runWorker(signal)
      loops = [
        listWatch('PersistentVolumeClaim', '/api/v1/persistentvolumeclaims', async () => await core.listPersistentVolumeClaimForAllNamespaces(),
          claims, claimKey, k => `pvc:${k}`, signal),
        listWatch('PersistentVolume', '/api/v1/persistentvolumes', async () => await core.listPersistentVolume(),
          volumes, volumeKey, k => `pv:${k}`, signal)
      ]
      resync = setInterval(() => {
        for (const k of claims.keys()) if (!retryTimers.has(`pvc:${k}`)) enqueue(`pvc:${k}`)
        for (const k of volumes.keys()) if (!retryTimers.has(`pv:${k}`)) enqueue(`pv:${k}`)
      }, init.resyncMs ?? 30_000)
      log(`provisioner ${PROVISIONER_NAME} started for node ${init.nodeName}, volumes in ${volumesDir}`)
    },
    async stop () {
      if (worker === undefined) return
      abort.abort()
      clearInterval(resync)
      for (const t of retryTimers.values()) clearTimeout(t)
      retryTimers.clear(); wake?.()
      // The worker finishes the object in hand (at most one API call) before it returns.
      await Promise.all([worker, ...loops])
      worker = undefined
      loops = []
      pending.clear()
      log('provisioner stopped')
    }
  }
}

/** Removes a volume directory without following symlinks (a link is unlinked, not its target). */
async function removeDir (dir: string): Promise<void> {
  let st
  try { st = await lstat(dir) } catch (e) { if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; throw e }
  if (st.isSymbolicLink()) await unlink(dir)
  else await rm(dir, { recursive: true, force: true })
}
