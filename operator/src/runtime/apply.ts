// Writes go through server-side apply under one field manager, for objects and for the status
// subresource: the operator states what it owns, the apiserver merges, and fields set by others
// (HPA replicas, kubectl annotations, defaulted fields) are left alone. `force` takes ownership
// of fields another manager had set, which is the operator's job for the fields it renders.
import type { KubernetesObject } from '@kubernetes/client-node'
import { KubeApiError, isConflict, isNotFound } from './errors.ts'
import { parseApiVersion, resourcePath, type KubeClient, type ResourceRef } from './kube-client.ts'

export const FIELD_MANAGER = 'dawn-operator'

/** 409 on apply: a resourceVersion precondition failed, or (force: false) fields owned by another manager. */
export class ApplyConflictError extends KubeApiError {
  override name = 'ApplyConflictError'
  /** Conflicting fields and their owners, as the apiserver listed them. */
  readonly conflicts: Array<{ field: string, message: string }>
  constructor (from: KubeApiError) {
    super({
      status: from.status,
      ...(from.reason !== undefined ? { reason: from.reason } : {}),
      message: from.apiMessage,
      ...(from.method !== undefined ? { method: from.method } : {}),
      ...(from.path !== undefined ? { path: from.path } : {}),
      ...(from.details !== undefined ? { details: from.details } : {}),
      cause: from
    })
    this.conflicts = (from.details?.causes ?? []).map(c => ({ field: c.field ?? '', message: c.message ?? '' }))
  }
}

/** An object to apply must say what it is. */
export class InvalidObjectError extends Error {
  override name = 'InvalidObjectError'
}

export interface ApplyOptions {
  signal?: AbortSignal
  /** Default: the applier's (dawn-operator). */
  fieldManager?: string
  /** Take over fields owned by other managers; default true. */
  force?: boolean
  dryRun?: boolean
  /**
   * Unknown or duplicate fields: `Strict` (default) rejects them — a typo in a rendered object
   * fails loudly instead of being dropped; `Warn`/`Ignore` as the apiserver defines.
   */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore'
  /** Skip discovery: the resource of the object (needed only for kinds discovery cannot see). */
  resource?: ResourceRef
  /**
   * Keep `metadata.resourceVersion` in the body, making the apply conditional on it (409 if
   * the object changed meanwhile). Default false: it is stripped.
   */
  resourceVersionPrecondition?: boolean
}

/** What deleteIfExists needs: an object, or its coordinates. */
export interface ObjectRef {
  apiVersion: string
  kind: string
  name: string
  namespace?: string
}

export interface DeleteOptions {
  signal?: AbortSignal
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan'
  gracePeriodSeconds?: number
  /** Delete only this incarnation (a same-named replacement is left alone). */
  uid?: string
  /** Delete only if unchanged since this version. */
  resourceVersion?: string
  dryRun?: boolean
  resource?: ResourceRef
}

export interface ApplierInit {
  client: KubeClient
  fieldManager?: string
}

export class Applier {
  readonly fieldManager: string
  private readonly client: KubeClient

  constructor (init: ApplierInit) {
    this.client = init.client
    this.fieldManager = init.fieldManager ?? FIELD_MANAGER
  }

  /** Server-side applies `obj` (create or update); resolves with the object as stored. */
  async apply<T extends KubernetesObject> (obj: T, opts: ApplyOptions = {}): Promise<T> {
    const { ref, name, namespace } = await this.locate(obj, opts.resource, opts.signal)
    const body = strip(obj, opts.resourceVersionPrecondition === true)
    return await this.patch<T>(resourcePath(ref, { namespace, name }), body, opts)
  }

  /**
   * Server-side applies `obj.status` through the status subresource (only apiVersion, kind,
   * name, namespace and status are sent). Resolves with the stored object, or undefined if the
   * object no longer exists (status of a deleted object is moot).
   */
  async applyStatus<T extends KubernetesObject & { status?: unknown }> (obj: T, opts: ApplyOptions = {}): Promise<T | undefined> {
    const { ref, name, namespace } = await this.locate(obj, opts.resource, opts.signal)
    const metadata: Record<string, unknown> = { name }
    if (namespace !== undefined) metadata.namespace = namespace
    if (opts.resourceVersionPrecondition === true && obj.metadata?.resourceVersion !== undefined) metadata.resourceVersion = obj.metadata.resourceVersion
    const body = { apiVersion: obj.apiVersion, kind: obj.kind, metadata, status: obj.status ?? {} }
    try {
      return await this.patch<T>(resourcePath(ref, { namespace, name, subresource: 'status' }), body, opts)
    } catch (e) {
      if (isNotFound(e)) return undefined
      throw e
    }
  }

  /** Reads an object; undefined if it does not exist. */
  async get<T extends KubernetesObject> (target: ObjectRef | KubernetesObject, opts: { signal?: AbortSignal, resource?: ResourceRef } = {}): Promise<T | undefined> {
    const { ref, name, namespace } = await this.locate(asObject(target), opts.resource, opts.signal)
    try {
      return await this.client.request<T>({ method: 'GET', path: resourcePath(ref, { namespace, name }), ...(opts.signal !== undefined ? { signal: opts.signal } : {}) })
    } catch (e) {
      if (isNotFound(e)) return undefined
      throw e
    }
  }

  /**
   * Deletes an object. Resolves true if a deletion was issued (the object may linger while
   * finalizers run), false if it was already gone or (with `uid`/`resourceVersion`) is no
   * longer the object meant.
   */
  async deleteIfExists (target: ObjectRef | KubernetesObject, opts: DeleteOptions = {}): Promise<boolean> {
    const { ref, name, namespace } = await this.locate(asObject(target), opts.resource, opts.signal)
    const preconditions: Record<string, string> = {}
    if (opts.uid !== undefined) preconditions.uid = opts.uid
    if (opts.resourceVersion !== undefined) preconditions.resourceVersion = opts.resourceVersion
    const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' }
    if (opts.propagationPolicy !== undefined) body.propagationPolicy = opts.propagationPolicy
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds
    if (Object.keys(preconditions).length > 0) body.preconditions = preconditions
    if (opts.dryRun === true) body.dryRun = ['All']
    try {
      await this.client.request({ method: 'DELETE', path: resourcePath(ref, { namespace, name }), body, ...(opts.signal !== undefined ? { signal: opts.signal } : {}) })
      return true
    } catch (e) {
      if (isNotFound(e)) return false
      // Precondition failed: a different incarnation (or version) holds the name now.
      if (isConflict(e) && Object.keys(preconditions).length > 0) return false
      throw e
    }
  }

  // -------------------------------------------------------------------------------------

  private async patch<T> (path: string, body: unknown, opts: ApplyOptions): Promise<T> {
    try {
      return await this.client.request<T>({
        method: 'PATCH',
        path,
        body,
        contentType: 'application/apply-patch+yaml',
        query: {
          fieldManager: opts.fieldManager ?? this.fieldManager,
          force: opts.force ?? true,
          fieldValidation: opts.fieldValidation ?? 'Strict',
          dryRun: opts.dryRun === true ? 'All' : undefined
        },
        ...(opts.signal !== undefined ? { signal: opts.signal } : {})
      })
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 409) throw new ApplyConflictError(e)
      throw e
    }
  }

  private async locate (obj: KubernetesObject, resource: ResourceRef | undefined, signal: AbortSignal | undefined): Promise<{ ref: ResourceRef, name: string, namespace: string | undefined }> {
    const name = obj.metadata?.name
    if (obj.apiVersion === undefined || obj.apiVersion === '' || obj.kind === undefined || obj.kind === '') {
      throw new InvalidObjectError(`object ${name ?? '(unnamed)'} needs apiVersion and kind`)
    }
    if (name === undefined || name === '') throw new InvalidObjectError(`${obj.kind} needs metadata.name`)
    let ref = resource
    if (ref === undefined) {
      ref = await this.client.resourceFor(obj.apiVersion, obj.kind, signal)
    } else {
      const gv = parseApiVersion(obj.apiVersion)
      if (gv.group !== ref.group || gv.version !== ref.version) throw new InvalidObjectError(`${obj.kind} ${name}: apiVersion ${obj.apiVersion} does not match resource ${ref.plural}`)
    }
    const ns = obj.metadata?.namespace
    if (ref.namespaced !== false && (ns === undefined || ns === '')) throw new InvalidObjectError(`${obj.kind} ${name} is namespaced but has no metadata.namespace`)
    return { ref, name, namespace: ref.namespaced !== false ? ns : undefined }
  }
}

function asObject (t: ObjectRef | KubernetesObject): KubernetesObject {
  if ('name' in t && typeof t.name === 'string') {
    return { apiVersion: t.apiVersion, kind: t.kind, metadata: { name: t.name, ...(t.namespace !== undefined ? { namespace: t.namespace } : {}) } }
  }
  return t
}

/** Removes server-owned metadata an apply must not carry (managedFields must be empty). */
function strip<T extends KubernetesObject> (obj: T, keepResourceVersion: boolean): T {
  if (obj.metadata === undefined) return obj
  const { managedFields: _mf, resourceVersion, creationTimestamp: _ct, ...rest } = obj.metadata
  const metadata = keepResourceVersion && resourceVersion !== undefined ? { ...rest, resourceVersion } : rest
  return { ...obj, metadata }
}
