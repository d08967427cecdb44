{{- define "torii.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "torii.fullname" -}}
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

{{- define "torii.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "torii.selectorLabels" -}}
app.kubernetes.io/name: {{ include "torii.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "torii.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "torii.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "torii.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "torii.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "torii.configSecretName" -}}
{{- if .Values.configSecret.create }}
{{- default (include "torii.fullname" .) .Values.configSecret.name }}
{{- else }}
{{- required "configSecret.name is required when configSecret.create is false" .Values.configSecret.name }}
{{- end }}
{{- end }}

{{- define "torii.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* torii's own kinds in dex.coreos.com (storage/kubernetes). */}}
{{- define "torii.crdPlurals" -}}
- toriiauthcodes
- toriiauthrequests
- toriiclients
- toriidevicerequests
- toriideviceusercodes
- toriikeys
- toriilocks
- toriilogoutdeliveries
- toriipasswords
- toriirefreshtokens
- toriirevokedgrants
- toriisessions
- toriithrottles
{{- end }}

{{/* The config as rendered: kubernetes storage unless config.storage is set. */}}
{{- define "torii.config" -}}
{{- $cfg := deepCopy .Values.config }}
{{- if not $cfg.storage }}
{{- $_ := set $cfg "storage" (dict "type" "kubernetes" "config" (dict "inCluster" true)) }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}
