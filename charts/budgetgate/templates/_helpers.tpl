{{/*
Chart name, truncated to 63 characters (the DNS label limit).
*/}}
{{- define "budgetgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: the release name, plus the chart name unless the release name
already contains it. Truncated to 63 characters.
*/}}
{{- define "budgetgate.fullname" -}}
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

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "budgetgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "budgetgate.labels" -}}
helm.sh/chart: {{ include "budgetgate.chart" . }}
{{ include "budgetgate.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: budgetgate
{{- end }}

{{/*
Selector labels (immutable in a Deployment: keep them to name + instance).
*/}}
{{- define "budgetgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "budgetgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
ServiceAccount name.
*/}}
{{- define "budgetgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "budgetgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Names shared between objects and command-line flags.
*/}}
{{- define "budgetgate.webhookConfigName" -}}
{{- include "budgetgate.fullname" . }}
{{- end }}

{{- define "budgetgate.tlsSecretName" -}}
{{- if eq .Values.tls.mode "secret" }}
{{- .Values.tls.secret.name }}
{{- else }}
{{- printf "%s-webhook-tls" (include "budgetgate.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "budgetgate.certificateName" -}}
{{- printf "%s-webhook" (include "budgetgate.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "budgetgate.issuerName" -}}
{{- printf "%s-selfsigned" (include "budgetgate.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Container image reference.
*/}}
{{- define "budgetgate.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
Checks of value combinations that Kubernetes would not catch, with messages that say what to do.
Included by the Deployment template, so they run for every render.
*/}}
{{- define "budgetgate.validateValues" -}}
{{- $_ := required "prometheus.url is required: the base URL of the Prometheus HTTP API budgetgate queries, e.g. --set prometheus.url=http://prometheus-operated.monitoring.svc:9090" .Values.prometheus.url }}
{{- if not (has .Values.tls.mode (list "selfSigned" "certManager" "secret")) }}
{{- fail (printf "tls.mode must be selfSigned, certManager or secret, not %q" .Values.tls.mode) }}
{{- end }}
{{- if and (eq .Values.tls.mode "secret") (not .Values.tls.secret.name) }}
{{- fail "tls.mode=secret needs tls.secret.name: an existing Secret in the release namespace with tls.crt and tls.key" }}
{{- end }}
{{- if and (eq .Values.tls.mode "secret") (not .Values.tls.secret.caBundle) }}
{{- fail "tls.mode=secret needs tls.secret.caBundle: the base64 PEM CA that signed the certificate, e.g. --set tls.secret.caBundle=$(base64 -w0 ca.crt)" }}
{{- end }}
{{- if not (has .Values.webhook.failurePolicy (list "Fail" "Ignore")) }}
{{- fail (printf "webhook.failurePolicy must be Fail or Ignore, not %q" .Values.webhook.failurePolicy) }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.controller.leaderElection.enabled) }}
{{- fail "controller.leaderElection.enabled=false needs replicaCount=1: several replicas must elect a leader to evaluate SLOs and write status" }}
{{- end }}
{{- if and .Values.prometheus.ca.configMapName .Values.prometheus.ca.secretName }}
{{- fail "set at most one of prometheus.ca.configMapName and prometheus.ca.secretName" }}
{{- end }}
{{- end }}

{{/*
What every entry of the ValidatingWebhookConfiguration shares. Call with
(dict "root" . "path" "/validate/...").
*/}}
{{- define "budgetgate.webhookCommon" -}}
{{- $root := .root -}}
admissionReviewVersions: ["v1"]
# The verdict has no side effects (dry-run requests get the same verdict).
sideEffects: None
# Fail by default: a gate that fails open can be bypassed by crashing it (see values.yaml).
failurePolicy: {{ $root.Values.webhook.failurePolicy }}
timeoutSeconds: {{ $root.Values.webhook.timeoutSeconds }}
matchPolicy: Equivalent
clientConfig:
  {{- if eq $root.Values.tls.mode "secret" }}
  # The CA that signed the certificate in Secret {{ $root.Values.tls.secret.name }} (tls.secret.caBundle).
  caBundle: {{ $root.Values.tls.secret.caBundle | quote }}
  {{- else }}
  # No caBundle here: {{ if eq $root.Values.tls.mode "selfSigned" }}budgetgate writes its own CA into it (--tls-bootstrap-webhook){{ else }}cert-manager injects it{{ end }}.
  {{- end }}
  service:
    name: {{ include "budgetgate.fullname" $root }}
    namespace: {{ $root.Release.Namespace }}
    path: {{ .path }}
    port: {{ $root.Values.service.webhookPort }}
{{- end }}

{{/*
The namespaces whose workloads are sent to the webhook: never kube-system, budgetgate's own or
the exempt ones (so the cluster and budgetgate itself can always be repaired); with
webhook.namespaceSelection=gated only those labelled budgetgate.dev/gated=true by the operator.
*/}}
{{- define "budgetgate.workloadNamespaces" -}}
namespaceSelector:
  {{- if eq .Values.webhook.namespaceSelection "gated" }}
  matchLabels:
    budgetgate.dev/gated: "true"
  {{- end }}
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values:
        - kube-system
        - {{ .Release.Namespace }}
        {{- range .Values.webhook.exemptNamespaces }}
        - {{ . }}
        {{- end }}
{{- with .Values.webhook.objectSelector }}
objectSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
prometheus.dataSources as OpenSLO v1 DataSource documents (the --datasources file). Bearer
tokens are files mounted from their Secrets (deployment.yaml).
*/}}
{{- define "budgetgate.dataSources" -}}
{{- range $i, $ds := .Values.prometheus.dataSources }}
{{- if $i }}
---
{{- end }}
apiVersion: openslo/v1
kind: DataSource
metadata:
  name: {{ $ds.name | quote }}
spec:
  type: Prometheus
  connectionDetails:
    url: {{ $ds.url | quote }}
    {{- with $ds.headers }}
    headers:
      {{- range $k, $v := . }}
      {{ $k | quote }}: {{ $v | quote }}
      {{- end }}
    {{- end }}
    {{- with $ds.timeout }}
    timeout: {{ . | quote }}
    {{- end }}
    {{- with $ds.allowedNamespaces }}
    allowedNamespaces:
      {{- range . }}
      - {{ . | quote }}
      {{- end }}
    {{- end }}
    {{- if and $ds.bearerToken $ds.bearerToken.secretName }}
    bearerTokenFile: /var/run/budgetgate/datasources/{{ $ds.name }}/token
    {{- end }}
    {{- if $ds.insecureSkipVerify }}
    insecureSkipVerify: true
    {{- end }}
{{- end }}
{{- end }}
