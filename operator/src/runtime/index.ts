// The controller runtime: everything controllers need, from one import.
export {
  loadKubeConfig, createKubeClient, KubeClient, KubeConfigNotFoundError,
  resourcePath, objectKey, keyOf, splitKey, apiVersionOf, parseApiVersion,
  type ResourceRef, type KubeRequest, type KubeClientInit, type LoadKubeConfigInit, type KubeAccess
} from './kube-client.ts'
export { KubeConfig, KubeConfigInvalidError } from './kubeconfig.ts'
export { HttpsTransport, type HttpTransport, type HttpRequest, type HttpResponse, type TlsMaterial } from './https-transport.ts'
export {
  KubeApiError, KubeTransportError, KubeTimeoutError, WatchStalledError, AbortError, NotStartedError, UnknownResourceError,
  toKubeApiError, isNotFound, isConflict, isAlreadyExists, isGone, isAbortError, isAborted, isRetryable, abortReason, errorMessage,
  type KubeStatus
} from './errors.ts'
export { createKubeListWatch, type ListWatch, type WatchEvent, type ListResult, type WatchOptions, type KubeListWatchInit } from './list-watch.ts'
export { Informer, createInformer, type InformerEvent, type InformerHandler, type InformerInit, type InformerStats, type KubeInformerInit } from './informer.ts'
export { WorkQueue, type WorkQueueInit, type WorkHandler, type WorkResult, type WorkOutcome } from './work-queue.ts'
export { Backoff, sleep, type BackoffInit } from './backoff.ts'
export {
  Applier, ApplyConflictError, InvalidObjectError, FIELD_MANAGER,
  type ApplyOptions, type DeleteOptions, type ObjectRef, type ApplierInit
} from './apply.ts'
export { LeaderElector, kubeLeaseStore, microTime, type LeaderElectorInit, type Lease, type LeaseSpec, type LeaseStore } from './leader-election.ts'
export { OperatorMetrics, MetricsServer, type HealthCheck, type MetricsServerInit, type OperatorMetricsInit, type ReconcileResult } from './metrics.ts'
export { createLogger, silentLogger, isLogLevel, type Logger, type LogLevel, type LogFields, type LoggerInit } from './logger.ts'
export {
  Controller, watch, ownerKeys, labelKey, specChanged,
  type ControllerInit, type Reconcile, type ReconcileContext, type KeyMapper, type WatchSpec
} from './controller.ts'
export { Manager, runWhenLeader, type ManagerInit, type LeaderRunnable } from './manager.ts'
export { EventRecorder, type EventInit, type EventRecorderInit } from './events.ts'
export { onShutdownSignals, type ShutdownInit } from './shutdown.ts'
export { MeshProbe, NodeReplyError, type MeshProbeInit, type PeerReport, type ProbeTarget } from './mesh-probe.ts'
export { AgentProbe, type AgentProbeInit, type AgentReport } from './agent-probe.ts'
