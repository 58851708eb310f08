{{/*
Chart name, truncated to the 63 characters a DNS label allows.
*/}}
{{- define "videorecog.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name. The release name is used as is when it already contains the chart name.
*/}}
{{- define "videorecog.fullname" -}}
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
Names of the two components; the suffix is kept within the 63-character limit.
*/}}
{{- define "videorecog.pipeline.fullname" -}}
{{- printf "%s-pipeline" (include "videorecog.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}

{{/*
The pipeline's workload: a StatefulSet (stable pod names) with exactly-once delivery.
*/}}
{{- define "videorecog.pipeline.kind" -}}
{{- ternary "StatefulSet" "Deployment" (eq .Values.kafka.delivery "exactly-once") }}
{{- end }}

{{- define "videorecog.engine.fullname" -}}
{{- printf "%s-engine" (include "videorecog.fullname" . | trunc 56 | trimSuffix "-") }}
{{- end }}

{{/*
The engine's shared mode: its workers and its migration hook (the API keeps the engine's name).
*/}}
{{- define "videorecog.engine.worker.fullname" -}}
{{- printf "%s-engine-worker" (include "videorecog.fullname" . | trunc 49 | trimSuffix "-") }}
{{- end }}

{{- define "videorecog.engine.migrate.fullname" -}}
{{- printf "%s-engine-migrate" (include "videorecog.fullname" . | trunc 48 | trimSuffix "-") }}
{{- end }}

{{- define "videorecog.topics.fullname" -}}
{{- printf "%s-topics" (include "videorecog.fullname" . | trunc 56 | trimSuffix "-") }}
{{- end }}

{{- define "videorecog.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "videorecog.labels" -}}
helm.sh/chart: {{ include "videorecog.chart" . }}
{{ include "videorecog.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: videorecog
{{- end }}

{{/*
Selector labels; immutable once a Deployment exists, so they never include the version.
*/}}
{{- define "videorecog.selectorLabels" -}}
app.kubernetes.io/name: {{ include "videorecog.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "videorecog.pipeline.labels" -}}
{{ include "videorecog.labels" . }}
app.kubernetes.io/component: pipeline
{{- end }}

{{- define "videorecog.pipeline.selectorLabels" -}}
{{ include "videorecog.selectorLabels" . }}
app.kubernetes.io/component: pipeline
{{- end }}

{{- define "videorecog.engine.labels" -}}
{{ include "videorecog.labels" . }}
app.kubernetes.io/component: engine
{{- end }}

{{- define "videorecog.engine.selectorLabels" -}}
{{ include "videorecog.selectorLabels" . }}
app.kubernetes.io/component: engine
{{- end }}

{{- define "videorecog.engine.worker.labels" -}}
{{ include "videorecog.labels" . }}
app.kubernetes.io/component: engine-worker
{{- end }}

{{- define "videorecog.engine.worker.selectorLabels" -}}
{{ include "videorecog.selectorLabels" . }}
app.kubernetes.io/component: engine-worker
{{- end }}

{{/*
The service account the pods run as.
*/}}
{{- define "videorecog.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "videorecog.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "videorecog.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
The API the pipeline calls: the endpoint given, else the in-cluster engine.
*/}}
{{- define "videorecog.apiEndpoint" -}}
{{- if .Values.api.endpoint }}
{{- .Values.api.endpoint }}
{{- else if .Values.engine.enabled }}
{{- printf "http://%s:%d" (include "videorecog.engine.fullname" .) (int .Values.engine.service.port) }}
{{- else }}
{{- fail "api.endpoint is required when engine.enabled is false" }}
{{- end }}
{{- end }}

{{/*
The pod's grace period: the pipeline's drain time plus a margin for the producer flush and
the final commit, so Kubernetes never kills a pod that is still draining.
*/}}
{{- define "videorecog.pipeline.terminationGracePeriodSeconds" -}}
{{- add (int .Values.pipeline.shutdownGraceSeconds) (int .Values.pipeline.terminationGraceMarginSeconds) }}
{{- end }}

{{/*
Replicas beyond the input topic's partition count would sit idle with no partition assigned.
*/}}
{{- define "videorecog.pipeline.checkReplicas" -}}
{{- $partitions := int .Values.kafka.inputPartitions }}
{{- if gt (int .Values.pipeline.replicaCount) $partitions }}
{{- fail (printf "pipeline.replicaCount (%d) exceeds kafka.inputPartitions (%d): extra replicas would get no partition" (int .Values.pipeline.replicaCount) $partitions) }}
{{- end }}
{{- if and .Values.pipeline.autoscaling.enabled (gt (int .Values.pipeline.autoscaling.maxReplicas) $partitions) }}
{{- fail (printf "pipeline.autoscaling.maxReplicas (%d) exceeds kafka.inputPartitions (%d)" (int .Values.pipeline.autoscaling.maxReplicas) $partitions) }}
{{- end }}
{{- end }}

{{/*
Where the topics are: shared by the pipeline and the topics hook, so they never disagree.
*/}}
{{- define "videorecog.kafkaEnv" -}}
- name: VIDEORECOG_KAFKA_BOOTSTRAP_SERVERS
  value: {{ .Values.kafka.bootstrapServers | quote }}
- name: VIDEORECOG_INPUT_TOPIC
  value: {{ .Values.kafka.inputTopic | quote }}
- name: VIDEORECOG_OUTPUT_TOPIC
  value: {{ .Values.kafka.outputTopic | quote }}
- name: VIDEORECOG_DLQ_TOPIC
  value: {{ .Values.kafka.dlqTopic | quote }}
- name: VIDEORECOG_JOBS_TOPIC
  value: {{ .Values.kafka.jobsTopic | quote }}
{{- end }}

{{/*
The pending jobs of this release's pipeline, as the Prometheus Operator labels the series it
scrapes through the ServiceMonitor (namespace, service); pendingJobs.query replaces it.
*/}}
{{- define "videorecog.pendingJobsQuery" -}}
{{- with .Values.pipeline.autoscaling.pendingJobs.query }}
{{- . }}
{{- else }}
{{- printf "sum(videorecog_pipeline_jobs_pending{namespace=%q,service=%q})" .Release.Namespace (include "videorecog.pipeline.fullname" .) }}
{{- end }}
{{- end }}

{{/*
The S3 client's settings, shared by the pipeline's and the engine's cover stores. Takes a dict:
endpointUrl, addressingStyle, region and, for keys from a Secret, existingSecret, accessKeyIdKey
and secretAccessKeyKey; without a Secret the AWS default credential chain applies (e.g. IRSA).
*/}}
{{- define "videorecog.s3Env" -}}
- name: VIDEORECOG_S3_ENDPOINT_URL
  value: {{ .endpointUrl | quote }}
- name: VIDEORECOG_S3_ADDRESSING_STYLE
  value: {{ .addressingStyle | quote }}
- name: AWS_REGION
  value: {{ .region | quote }}
{{- if .existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .accessKeyIdKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .secretAccessKeyKey }}
{{- end }}
{{- end }}

{{/*
True (non-empty) when the engine runs shared: API and workers on PostgreSQL and S3.
*/}}
{{- define "videorecog.engine.shared" -}}
{{- if and .Values.engine.enabled (eq .Values.engine.mode "shared") }}true{{ end }}
{{- end }}

{{/*
The base URL of the engine's signed cover links: engine.publicUrl, else its Service.
*/}}
{{- define "videorecog.engine.publicUrl" -}}
{{- .Values.engine.publicUrl | default (printf "http://%s:%d" (include "videorecog.engine.fullname" .) (int .Values.engine.service.port)) }}
{{- end }}

{{/*
Shared mode needs the job store's and the covers' addresses, two API replicas at least, and
workers that are given the time of a lease to stop.
*/}}
{{- define "videorecog.engine.checkShared" -}}
{{- with .Values.engine }}
{{- if not .store.existingSecret }}
{{- fail "engine.store.existingSecret is required with engine.mode=shared: the name of a Secret holding the PostgreSQL URL (postgresql://user:password@host:5432/db)" }}
{{- end }}
{{- if not .coverStore.url }}
{{- fail "engine.coverStore.url is required with engine.mode=shared: s3://bucket/prefix, where workers store covers and every API replica reads them" }}
{{- end }}
{{- if lt (int .api.replicas) 2 }}
{{- fail (printf "engine.api.replicas must be at least 2 with engine.mode=shared (got %d)" (int .api.replicas)) }}
{{- end }}
{{- if lt (int .worker.terminationGracePeriodSeconds) (int .leaseSeconds) }}
{{- fail (printf "engine.worker.terminationGracePeriodSeconds (%d) must be at least engine.leaseSeconds (%d): a stopping worker gets the time of a lease to finish its analyses" (int .worker.terminationGracePeriodSeconds) (int .leaseSeconds)) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The job store's URL, from its Secret (shared mode).
*/}}
{{- define "videorecog.engine.storeEnv" -}}
- name: VIDEORECOG_ENGINE_STORE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.engine.store.existingSecret }}
      key: {{ .Values.engine.store.key }}
{{- end }}

{{/*
The engine's environment for one role: "embedded" (API and analyses in one pod, as before),
"api" (the front door of shared mode) or "worker" (the analyses of shared mode). The API checks
callers' keys and signs cover links; workers download and analyse.
*/}}
{{- define "videorecog.engine.env" -}}
{{- $role := .role }}
{{- with .root -}}
- name: VIDEORECOG_LOG_LEVEL
  value: {{ .Values.engine.logLevel | quote }}
- name: VIDEORECOG_LOG_FORMAT
  value: json
- name: VIDEORECOG_ENGINE_HOST
  value: "0.0.0.0"
- name: VIDEORECOG_ENGINE_PORT
  value: {{ .Values.engine.port | quote }}
- name: VIDEORECOG_ENGINE_DATA_DIR
  value: /var/lib/videorecog
{{- if ne $role "worker" }}
- name: VIDEORECOG_ENGINE_CREDENTIALS
  valueFrom:
    secretKeyRef:
      name: {{ .Values.engine.credentials.existingSecret | default .Values.api.credentials.existingSecret }}
      key: {{ .Values.engine.credentials.key }}
- name: VIDEORECOG_ENGINE_PUBLIC_URL
  value: {{ include "videorecog.engine.publicUrl" . | quote }}
{{- end }}
{{- with .Values.engine.allowHosts }}
- name: VIDEORECOG_ENGINE_ALLOW_HOSTS
  value: {{ join "," . | quote }}
{{- end }}
{{- if ne $role "api" }}
- name: VIDEORECOG_ENGINE_WORKERS
  value: {{ .Values.engine.workers | quote }}
{{- end }}
{{- if ne $role "worker" }}
- name: VIDEORECOG_ENGINE_RATE_LIMIT
  value: {{ .Values.engine.rateLimit | quote }}
{{- end }}
- name: VIDEORECOG_ENGINE_RESULT_RETENTION_SECONDS
  value: {{ .Values.engine.resultRetentionSeconds | quote }}
{{- if ne $role "api" }}
- name: VIDEORECOG_ENGINE_MAX_DOWNLOAD_BYTES
  value: {{ .Values.engine.maxDownloadBytes | int64 | quote }}
- name: VIDEORECOG_ENGINE_DOWNLOAD_TIMEOUT_SECONDS
  value: {{ .Values.engine.downloadTimeoutSeconds | quote }}
{{- end }}
{{- if ne $role "embedded" }}
{{ include "videorecog.engine.storeEnv" . }}
- name: VIDEORECOG_ENGINE_COVER_STORE_URL
  value: {{ .Values.engine.coverStore.url | quote }}
{{ include "videorecog.s3Env" .Values.engine.coverStore }}
- name: VIDEORECOG_ENGINE_LEASE_SECONDS
  value: {{ .Values.engine.leaseSeconds | quote }}
- name: VIDEORECOG_ENGINE_MAX_ATTEMPTS
  value: {{ .Values.engine.maxAttempts | quote }}
{{- end }}
{{- with .Values.engine.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end }}
