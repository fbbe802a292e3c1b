// The restricted Pod Security Standard, applied to every pod and container we create.
import type { V1PodSecurityContext, V1SecurityContext, V1Volume, V1VolumeMount } from '@kubernetes/client-node'
import { TMP_DIR } from './paths.ts'

/** The conventional "nonroot" uid/gid (distroless, Chainguard). */
export const NONROOT_UID = 65532
/** Secrets are readable by the pod's group (fsGroup) only. */
export const SECRET_MODE = 0o440

export function restrictedPodSecurityContext (): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: NONROOT_UID,
    runAsGroup: NONROOT_UID,
    // Makes the data volumes writable by the non-root user.
    fsGroup: NONROOT_UID,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' }
  }
}

export function restrictedContainerSecurityContext (): V1SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: NONROOT_UID,
    runAsGroup: NONROOT_UID,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' }
  }
}

/** With a read-only root filesystem, /tmp must be a volume. */
export const TMP_VOLUME = 'tmp'
export function tmpVolume (): V1Volume {
  return { name: TMP_VOLUME, emptyDir: { sizeLimit: '256Mi' } }
}
export function tmpMount (): V1VolumeMount {
  return { name: TMP_VOLUME, mountPath: TMP_DIR }
}
