{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "dummy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Resource name: "<release>-<chart>", or the release name alone when it already contains the chart name. */}}
{{- define "dummy.fullname" -}}
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

{{- define "dummy.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Pod selector: stable across upgrades, so never add to it. */}}
{{- define "dummy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dummy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "dummy.labels" -}}
helm.sh/chart: {{ include "dummy.chart" . }}
{{ include "dummy.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: docproxy
{{- end }}

{{/* Labels of the `helm test` pod; the NetworkPolicy lets it in. */}}
{{- define "dummy.testLabels" -}}
app.kubernetes.io/name: {{ include "dummy.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
{{- end }}

{{- define "dummy.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "dummy.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository@digest when a digest is set, repository:tag otherwise. */}}
{{- define "dummy.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}
