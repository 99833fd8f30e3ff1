{{/* Chart name, truncated to the 63 characters Kubernetes allows in names. */}}
{{- define "quickstart.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; the release name alone when it already contains the chart name. */}}
{{- define "quickstart.fullname" -}}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Selector labels of one component. Call with (dict "ctx" $ "component" "web"). */}}
{{- define "quickstart.selectorLabels" -}}
app.kubernetes.io/name: {{ include "quickstart.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Common labels of one component. Call with (dict "ctx" $ "component" "web"). */}}
{{- define "quickstart.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version }}
{{ include "quickstart.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- end }}

{{- define "quickstart.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}{{ include "quickstart.fullname" . }}{{ else }}default{{ end }}
{{- end }}
