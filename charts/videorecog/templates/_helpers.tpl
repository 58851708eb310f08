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
