// What this kind of machine needs that a stock cluster would not. Each setting is pinned
// here, once, with the reason; the config renderers read them from here.

/**
 * root here lacks CAP_SYS_RESOURCE, so it may not lower a process's oom_score_adj. Without
 * this, containerd's CRI asks runc to set the sandbox's oom_score_adj below its own and
 * every sandbox fails with "can't get final child's PID from pipe: EOF".
 */
export const RESTRICT_OOM_SCORE_ADJ = true

/**
 * The host mounts cgroup v1 (tmpfs at /sys/fs/cgroup). Kubernetes 1.35+ refuses v1 unless
 * told otherwise; 1.37 still runs on it with this flag. Expect it to go away: plan for a
 * cgroup v2 machine before moving past 1.37.
 */
export const FAIL_CGROUP_V1 = false

/** There is no systemd (PID 1 is not systemd), so kubelet and runc use the cgroupfs driver. */
export const CGROUP_DRIVER = 'cgroupfs'

/**
 * Debian 12's containerd is 1.6.20, which serves the CRI v1 API that kubelet 1.37 needs.
 * kubelet 1.38 is expected to need containerd 2.x; containerd 2.4.2 builds from its Go
 * module with CGO_ENABLED=0 -tags "no_btrfs no_devmapper no_zfs" and works here too.
 */
export const CONTAINERD_NOTE = 'Debian containerd 1.6.x; kubelet >= 1.38 needs containerd 2.x'

/**
 * Images come from local OCI archives only (no registry is reachable). The image garbage
 * collector must never delete them: nothing could pull them back.
 */
export const IMAGE_GC_HIGH_THRESHOLD_PERCENT = 100
