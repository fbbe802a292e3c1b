{{- /* Generated from operator/src/install/rbac.ts by operator/scripts/gen-charts.ts; do not edit.
Regenerate with: npm run gen:charts */ -}}

{{- /* The operator's rules: chartOperatorRules() in operator/src/install/chart.ts. */ -}}
{{- define "dawn.operatorRules" -}}
- apiGroups:
    - mesh.dawn.dev
  resources:
    - dawnnetworks
    - dawnnodes
    - dawnagents
  verbs:
    - get
    - list
    - watch
- apiGroups:
    - mesh.dawn.dev
  resources:
    - dawnnetworks/status
    - dawnnodes/status
    - dawnagents/status
  verbs:
    - get
    - patch
- apiGroups:
    - ""
  resources:
    - secrets
  verbs:
    - get
    - list
    - watch
    - create
    - patch
- apiGroups:
    - ""
  resources:
    - configmaps
  verbs:
    - get
    - list
    - watch
    - create
    - patch
    - delete
- apiGroups:
    - ""
  resources:
    - services
  verbs:
    - get
    - list
    - watch
    - create
    - patch
    - delete
- apiGroups:
    - ""
  resources:
    - persistentvolumeclaims
  verbs:
    - get
    - patch
- apiGroups:
    - apps
  resources:
    - statefulsets
    - deployments
  verbs:
    - get
    - list
    - watch
    - create
    - patch
    - delete
- apiGroups:
    - policy
  resources:
    - poddisruptionbudgets
  verbs:
    - get
    - list
    - watch
    - create
    - patch
    - delete
- apiGroups:
    - monitoring.coreos.com
  resources:
    - podmonitors
    - prometheusrules
    - alertmanagerconfigs
  verbs:
    - get
    - list
    - watch
    - create
    - patch
    - delete
- apiGroups:
    - events.k8s.io
  resources:
    - events
  verbs:
    - create
    - patch
{{- end -}}

{{- /* Leader election: operatorLeaseRules(). */ -}}
{{- define "dawn.leaseRules" -}}
- apiGroups:
    - coordination.k8s.io
  resources:
    - leases
  verbs:
    - get
    - create
    - update
    - patch
{{- end -}}
