// Pure render functions: resources in, desired Kubernetes objects out. No API calls.
export { RenderInputError } from './errors.ts'
export {
  AGENT_APP, CONFIG_CHECKSUM_ANNOTATION, LABELS, MANAGED_BY, NETWORK_APP, NODE_APP,
  agentLabels, agentSelectorLabels, networkLabels, ownerReference, poolLabels, poolSelectorLabels, poolSelectorString
} from './labels.ts'
export * from './names.ts'
export * from './paths.ts'
export { canonicalJson, sha256Hex } from './canonical-json.ts'
export { encodeSecretData, secretText, secretTexts } from './secret-data.ts'
export {
  CONDITION_TYPES, conditionTime, findCondition, isConditionTrue, removeCondition, setCondition, setConditions
} from './conditions.ts'
export type { ConditionStatus, ConditionUpdate } from './conditions.ts'
export {
  CA_PRIVATE_KEY_KEY, CA_PUBLIC_KEY_KEY, SWARM_KEY_KEY, caSecretRef, planNetworkSecrets, publicKeyPemOf, renderCaSecret,
  renderPskSecret, swarmKeySecretRef
} from './network-secrets.ts'
export type { NetworkSecretsPlan, ResolvedCa, ResolvedPsk, SecretKeyRef } from './network-secrets.ts'
export { RENEW_BEFORE_SECONDS, isIdentityEntry, keyOrdinals, needsRenewal, planIdentities, renderIdentitySecret } from './identity.ts'
export type { IdentityPlan, PeerIdentity, PlanIdentitiesInput } from './identity.ts'
export {
  announceAddressTemplate, bootstrapAddresses, compareStrings, peerAddress, peerStatuses, podDnsName, poolDomain
} from './addresses.ts'
export type { PoolPeers } from './addresses.ts'
export { MAX_BOOTSTRAP_ADDRESSES, NodeConfigRenderError, renderNodeConfig } from './node-config.ts'
export type { AgentConflict, RenderNodeConfigInput, RenderedNodeConfig } from './node-config.ts'
export { configChecksum } from './checksum.ts'
export { toolFilterProblem, usableToolFilter } from './tool-filters.ts'
export { SERVING_REASONS, agentServing } from './agent-serving.ts'
export type { AgentObservation, AgentServing, AgentServingInput, ObservedAgent } from './agent-serving.ts'
export { assessMesh, meshDegradedCondition } from './mesh-health.ts'
export type { AssessMeshOptions, MeshHealth, MeshMember, MeshObservation } from './mesh-health.ts'
export type { ChecksumInput } from './checksum.ts'
export { renderPoolConfigMap } from './config-map.ts'
export { renderAgentHeadersSecret, headersJsonProblem } from './agent-headers.ts'
export { HTTP_PORT_NAME, P2P_PORT_NAME, renderClientService, renderHeadlessService } from './services.ts'
export { KUBO_CONTAINER, KUBO_INIT_CONTAINER, KUBO_INIT_SCRIPT } from './kubo.ts'
export { NODE_CONTAINER, POD_INDEX_LABEL, pvcResizes, renderStatefulSet, volumeClaimTemplatesChanged } from './statefulset.ts'
export type { RenderStatefulSetInput } from './statefulset.ts'
export { renderPodDisruptionBudget } from './pdb.ts'
export {
  agentEndpoint, nodeAgentEntry, renderAgentDeployment, renderAgentService, resolvePlacement, unknownPlacementNodes
} from './agent.ts'
export { NONROOT_UID, restrictedContainerSecurityContext, restrictedPodSecurityContext } from './security.ts'
export {
  GRAFANA_DASHBOARD_LABEL, METRICS_PATH, METRICS_PORT, MONITORING_CONDITION, MONITORING_GROUP, MONITORING_KINDS, MONITORING_REASONS,
  MONITORING_RESOURCES, NODE_JOB, TARGET_LABELS, alertmanagerConfigName, dashboardConfigMapName, monitoringLabels, nodeMatchers,
  nodePodSelector, podMonitorName, prometheusRuleName, scopeOf
} from './monitoring/common.ts'
export type { MonitoringKind, MonitoringScope } from './monitoring/common.ts'
export { nodeRelabelings, renderPlainScrapeConfig, renderPodMonitor } from './monitoring/scrape.ts'
export type { PlainScrapeConfig, PlainScrapeConfigInit, PodMonitor, RelabelConfig } from './monitoring/scrape.ts'
export {
  ALERTS, ALERT_FOR, ALERT_NAMES, ALERT_THRESHOLDS, OPERATOR_ERROR_WINDOW, RATE_WINDOW, RUNBOOK_BASE_URL, alertRuleGroups, runbookUrl
} from './monitoring/alerts.ts'
export type { AlertDefinition, AlertGroup, AlertRule, AlertRulesOptions } from './monitoring/alerts.ts'
export { DASHBOARD_FILE, GEN_MONITORING_COMMAND, RULES_FILE, renderPlainRulesFile, renderPrometheusRule } from './monitoring/rules.ts'
export type { PrometheusRule } from './monitoring/rules.ts'
export {
  PLAIN_DEFAULT_RECEIVER, alertRoute, matcherString, renderAlertmanagerConfig, renderPlainAlertmanagerConfig
} from './monitoring/alertmanager.ts'
export type { AlertRoute, AlertmanagerConfig, PlainAlertmanagerConfig } from './monitoring/alertmanager.ts'
export { DASHBOARD_ROWS } from './monitoring/dashboard-panels.ts'
export {
  DASHBOARD_SCHEMA_VERSION, DASHBOARD_UID, dashboardQueries, renderDashboard, renderDashboardConfigMap, renderDashboardJson
} from './monitoring/dashboard.ts'
export type { DashboardQuery, GrafanaDashboard, GrafanaPanel } from './monitoring/dashboard.ts'
export { monitoringCondition, planMonitoring } from './monitoring/plan.ts'
export type { MonitoringObjectRef, MonitoringPlan } from './monitoring/plan.ts'
export { renderMonitoringFiles } from './monitoring/files.ts'
export { applyRelabelings, nodeTargetGroups, podMetaLabels, renderStaticScrapeConfig } from './monitoring/targets.ts'
export type { StaticScrapeConfig, TargetGroup } from './monitoring/targets.ts'
