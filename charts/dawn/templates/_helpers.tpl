{{/* The operator's objects: <release>-operator, or fullnameOverride. */}}
{{- define "dawn.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-operator" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "dawn.selectorLabels" -}}
app.kubernetes.io/name: dawn-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "dawn.labels" -}}
{{ include "dawn.selectorLabels" . }}
app.kubernetes.io/part-of: dawn
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "dawn.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The sample network goes where the operator looks. */}}
{{- define "dawn.sampleNamespace" -}}
{{- .Values.sample.namespace | default .Values.watchNamespace | default .Release.Namespace -}}
{{- end -}}
