{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "docproxy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Resource name: "<release>-<chart>", or the release name alone when it already contains the chart name. */}}
{{- define "docproxy.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "docproxy.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Pod selector: stable across upgrades, so never add to it. */}}
{{- define "docproxy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "docproxy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "docproxy.labels" -}}
helm.sh/chart: {{ include "docproxy.chart" . }}
{{ include "docproxy.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: docproxy
{{- end }}

{{/* Labels of the `helm test` pod; the NetworkPolicy lets it in. */}}
{{- define "docproxy.testLabels" -}}
app.kubernetes.io/name: {{ include "docproxy.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
{{- end }}

{{- define "docproxy.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "docproxy.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository@digest when a digest is set, repository:tag otherwise. */}}
{{- define "docproxy.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The kubelet waits preStop sleep + drain grace + margin before SIGKILL. */}}
{{- define "docproxy.terminationGracePeriodSeconds" -}}
{{- add .Values.shutdown.preStopSleepSeconds .Values.config.shutdownGraceSeconds .Values.shutdown.marginSeconds }}
{{- end }}

{{/*
Non-empty when an upstream CA bundle is mounted (config.upstreamCA names a Secret or ConfigMap).
*/}}
{{- define "docproxy.upstreamCA" -}}
{{- if or .Values.config.upstreamCA.secretName .Values.config.upstreamCA.configMapName }}true{{ end }}
{{- end }}
