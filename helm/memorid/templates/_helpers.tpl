{{/* Names and labels. */}}
{{- define "memorid.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "memorid.fullname" -}}
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

{{/* A name derived from the fullname, e.g. "<fullname>-headless". */}}
{{- define "memorid.suffixed" -}}
{{- $full := include "memorid.fullname" .root }}
{{- printf "%s-%s" ($full | trunc (int (sub 62 (len .suffix))) | trimSuffix "-") .suffix }}
{{- end }}

{{- define "memorid.selectorLabels" -}}
app.kubernetes.io/name: {{ include "memorid.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "memorid.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "memorid.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: memorid
{{- end }}

{{- define "memorid.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "memorid.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name: name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "memorid.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The binary's path in the image the repository's Dockerfile builds. */}}
{{- define "memorid.binary" -}}
/usr/local/bin/memorid
{{- end }}

{{- define "memorid.configDir" -}}
/etc/memorid
{{- end }}
{{- define "memorid.configPath" -}}
{{ include "memorid.configDir" . }}/memorid.toml
{{- end }}
{{- define "memorid.apiKeysDir" -}}
/var/run/secrets/memorid/api-keys
{{- end }}
{{- define "memorid.tlsDir" -}}
/etc/memorid-tls
{{- end }}

{{/* True when the built-in embedding model is in use (memorid's default). */}}
{{- define "memorid.builtinModel" -}}
{{- $embeddings := .Values.config.embeddings | default dict }}
{{- if eq (toString (default "builtin" $embeddings.backend)) "builtin" }}true{{ end }}
{{- end }}

{{- define "memorid.modelDir" -}}
{{- if eq .Values.model.source "volume" }}
{{- .Values.model.mountPath }}
{{- else }}
{{- .Values.model.imagePath }}
{{- end }}
{{- end }}

{{/* The port the kubelet probes: the plaintext health port with TLS. */}}
{{- define "memorid.probePort" -}}
{{- if .Values.tls.enabled }}{{ .Values.ports.health }}{{ else }}{{ .Values.ports.grpc }}{{ end }}
{{- end }}

{{/* shutdown grace + augmentation drain, memorid's defaults unless set. */}}
{{- define "memorid.drainSeconds" -}}
{{- $server := .Values.config.server | default dict }}
{{- $augmentation := .Values.config.augmentation | default dict }}
{{- $grace := 30 }}
{{- if hasKey $server "shutdown_grace_secs" }}{{ $grace = $server.shutdown_grace_secs }}{{ end }}
{{- $drain := 10 }}
{{- if hasKey $augmentation "drain_timeout_secs" }}{{ $drain = $augmentation.drain_timeout_secs }}{{ end }}
{{- add (int $grace) (int $drain) }}
{{- end }}

{{- define "memorid.terminationGracePeriodSeconds" -}}
{{- $needed := add (int .Values.preStopSleepSeconds) (int (include "memorid.drainSeconds" .)) }}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add $needed 10 }}
{{- else if lt (int .Values.terminationGracePeriodSeconds) (int $needed) }}
{{- fail (printf "terminationGracePeriodSeconds %d is shorter than preStopSleepSeconds + server.shutdown_grace_secs + augmentation.drain_timeout_secs = %d: pods would be killed while draining" (int .Values.terminationGracePeriodSeconds) (int $needed)) }}
{{- else }}
{{- .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/*
memorid's TOML configuration: the user's `config` with the keys the chart
owns added. Helm reads every YAML number as a float, and memorid's integer
settings refuse `30.0`, so this writes TOML itself instead of toToml: whole
numbers are written as integers (memorid's float settings accept those).
*/}}
{{- define "memorid.configToml" -}}
{{- $config := deepCopy (.Values.config | default dict) }}
{{- $server := get $config "server" | default dict }}
{{- $_ := set $server "listen" (printf "%s:%d" (include "memorid.host" .) (int .Values.ports.grpc)) }}
{{- if .Values.tls.enabled }}
{{- if or (eq (int .Values.ports.health) (int .Values.ports.grpc)) (and .Values.metrics.enabled (eq (int .Values.ports.health) (int .Values.ports.metrics))) }}
{{- fail (printf "ports.health %d: with tls.enabled it is a port of its own (plaintext health for the kubelet), not ports.grpc or ports.metrics" (int .Values.ports.health)) }}
{{- end }}
{{- /* The kubelet's gRPC probes cannot speak TLS: health gets a plaintext
port of its own, the gRPC port serves TLS from the mounted Secret. */}}
{{- $_ := set $server "health_listen" (printf "%s:%d" (include "memorid.host" .) (int .Values.ports.health)) }}
{{- $tls := get $server "tls" | default dict }}
{{- $_ := set $tls "cert_file" (printf "%s/tls.crt" (include "memorid.tlsDir" .)) }}
{{- $_ := set $tls "key_file" (printf "%s/tls.key" (include "memorid.tlsDir" .)) }}
{{- if .Values.tls.clientAuth }}
{{- $_ := set $tls "client_ca_file" (printf "%s/ca.crt" (include "memorid.tlsDir" .)) }}
{{- end }}
{{- $_ := set $server "tls" $tls }}
{{- else if hasKey $server "tls" }}
{{- /* [server.tls] without its files would stop memorid at start. */}}
{{- fail "config.server.tls: set tls.enabled (and tls.existingSecret) for memorid to serve TLS; its settings are read only then" }}
{{- end }}
{{- $_ := set $config "server" $server }}
{{- if .Values.metrics.enabled }}
{{- $_ := set $config "metrics" (dict "listen" (printf "%s:%d" (include "memorid.host" .) (int .Values.ports.metrics))) }}
{{- end }}
{{- if .Values.auth.existingSecret }}
{{- $auth := get $config "auth" | default dict }}
{{- $_ := set $auth "keys_file" (printf "%s/%s" (include "memorid.apiKeysDir" .) .Values.auth.keysKey) }}
{{- $_ := set $config "auth" $auth }}
{{- end }}
{{- if include "memorid.builtinModel" . }}
{{- $embeddings := get $config "embeddings" | default dict }}
{{- $_ := set $embeddings "model_dir" (include "memorid.modelDir" .) }}
{{- $_ := set $embeddings "auto_install" false }}
{{- $_ := set $config "embeddings" $embeddings }}
{{- end -}}
# memorid configuration, written by the {{ .Chart.Name }} Helm chart.
# Secrets are not here: storage.url and provider keys come from Secrets
# through environment variables, API keys from a mounted file.
{{ include "memorid.tomlTable" (dict "path" (list) "table" $config) | trim }}
{{- end }}

{{/* An IPv6 host is written in brackets. */}}
{{- define "memorid.host" -}}
{{- $host := .Values.listenHost }}
{{- if and (contains ":" $host) (not (hasPrefix "[" $host)) }}{{ printf "[%s]" $host }}{{ else }}{{ $host }}{{ end }}
{{- end }}

{{- define "memorid.tomlKey" -}}
{{- if regexMatch "^[A-Za-z0-9_-]+$" . }}{{ . }}{{ else }}{{ toJson . }}{{ end }}
{{- end }}

{{- define "memorid.tomlValue" -}}
{{- $v := . }}
{{- if kindIs "string" $v }}{{ toJson $v }}
{{- else if kindIs "bool" $v }}{{ $v }}
{{- else if or (kindIs "float64" $v) (kindIs "float32" $v) }}
{{- if eq (float64 (int64 $v)) (float64 $v) }}{{ int64 $v }}{{ else }}{{ $v }}{{ end }}
{{- else if or (kindIs "int" $v) (kindIs "int64" $v) }}{{ $v }}
{{- else if kindIs "slice" $v }}[{{ range $i, $e := $v }}{{ if $i }}, {{ end }}{{ include "memorid.tomlValue" $e }}{{ end }}]
{{- else }}{{ fail (printf "config: %v (a %s) cannot be written as a TOML value" $v (kindOf $v)) }}
{{- end }}
{{- end }}

{{/* One table: its plain keys, then its sub-tables, in key order. */}}
{{- define "memorid.tomlTable" -}}
{{- $path := .path }}
{{- $table := .table }}
{{- range $key := keys $table | sortAlpha }}
{{- $v := get $table $key }}
{{- if and (not (kindIs "map" $v)) (not (kindIs "invalid" $v)) }}
{{ include "memorid.tomlKey" $key }} = {{ include "memorid.tomlValue" $v }}
{{- end }}
{{- end }}
{{- range $key := keys $table | sortAlpha }}
{{- $v := get $table $key }}
{{- if kindIs "map" $v }}
{{- $sub := append $path (include "memorid.tomlKey" $key) }}

[{{ join "." $sub }}]
{{- include "memorid.tomlTable" (dict "path" $sub "table" $v) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The pod's environment: config file, database URL and provider keys
from Secrets, then extraEnv (plain values for secrets refused). */}}
{{- define "memorid.env" -}}
- name: MEMORID_CONFIG
  value: {{ include "memorid.configPath" . }}
- name: MEMORID_STORAGE__URL
  valueFrom:
    secretKeyRef:
      name: {{ required "database.existingSecret: name the Secret holding the PostgreSQL URL" .Values.database.existingSecret }}
      key: {{ required "database.urlKey is required" .Values.database.urlKey }}
{{- if .Values.providerSecrets.env }}
{{- $secret := required "providerSecrets.existingSecret: name the Secret that providerSecrets.env reads" .Values.providerSecrets.existingSecret }}
{{- range $name := keys .Values.providerSecrets.env | sortAlpha }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ get $.Values.providerSecrets.env $name }}
{{- end }}
{{- end }}
{{- range .Values.extraEnv }}
{{- $name := .name | toString }}
{{- if regexMatch "^MEMORID_(CONFIG|SERVER__LISTEN|SERVER__HEALTH_LISTEN|SERVER__TLS__(CERT_FILE|KEY_FILE|CLIENT_CA_FILE)|METRICS__LISTEN|EMBEDDINGS__MODEL_DIR|EMBEDDINGS__AUTO_INSTALL)$" $name }}
{{- fail (printf "extraEnv %s: the chart sets this itself (see ports, tls, model, listenHost)" $name) }}
{{- end }}
{{- if and (hasKey . "value") (regexMatch "(?i)(^MEMORID_STORAGE__URL$|^MEMORID_AUTH__|KEY|PASSWORD|SECRET|TOKEN|CREDENTIAL)" $name) }}
{{- fail (printf "extraEnv %s: looks like a secret; give it with valueFrom.secretKeyRef, not a plain value" $name) }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "memorid.checksum" -}}
{{- include "memorid.configToml" . | sha256sum }}
{{- end }}

{{/* Volumes the server and the migration Job share; .configMap names the
ConfigMap holding memorid.toml. */}}
{{- define "memorid.volumes" -}}
- name: config
  configMap:
    name: {{ .configMap }}
    items:
      - key: memorid.toml
        path: memorid.toml
- name: tmp
  emptyDir:
    sizeLimit: {{ .root.Values.tmp.sizeLimit }}
{{- with .root.Values.auth.existingSecret }}
- name: api-keys
  secret:
    secretName: {{ . }}
    defaultMode: 0440
    items:
      - key: {{ $.root.Values.auth.keysKey }}
        path: {{ $.root.Values.auth.keysKey }}
{{- end }}
{{- end }}

{{- define "memorid.volumeMounts" -}}
- name: config
  mountPath: {{ include "memorid.configDir" .root }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if .root.Values.auth.existingSecret }}
- name: api-keys
  mountPath: {{ include "memorid.apiKeysDir" .root }}
  readOnly: true
{{- end }}
{{- end }}


{{/* NetworkPolicy peers from namespace names and raw peers; none given:
this namespace. */}}
{{- define "memorid.peers" -}}
{{- if or .namespaces .peers }}
{{- with .namespaces }}
- namespaceSelector:
    matchExpressions:
      - key: kubernetes.io/metadata.name
        operator: In
        values: {{ toJson . }}
{{- end }}
{{- with .peers }}
{{ toYaml . }}
{{- end }}
{{- else }}
# Pods of this namespace.
- podSelector: {}
{{- end }}
{{- end }}

{{/* The migration hooks (see migration-job.yaml). */}}
{{- define "memorid.migrateHookAnnotations" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end }}

{{/* Upstream ports the NetworkPolicy lets out: networkPolicy.egress.upstreams.ports
plus the port of every configured provider's and embedder's base_url (memorid's
built-in providers are https, 443). A JSON list, sorted, without repeats. */}}
{{- define "memorid.upstreamPorts" -}}
{{- $ports := list }}
{{- range .Values.networkPolicy.egress.upstreams.ports }}{{ $ports = append $ports (int .) }}{{ end }}
{{- $urls := list }}
{{- range $name, $provider := (.Values.config.providers | default dict) }}
{{- if $provider.base_url }}{{ $urls = append $urls $provider.base_url }}{{ end }}
{{- end }}
{{- with (.Values.config.embeddings | default dict).base_url }}{{ $urls = append $urls . }}{{ end }}
{{- with (.Values.config.telemetry | default dict).otlp_endpoint }}{{ $urls = append $urls . }}{{ end }}
{{- range $urls }}
{{- $url := urlParse . }}
{{- $hostPort := splitList ":" $url.host }}
{{- if and (gt (len $hostPort) 1) (not (hasSuffix "]" $url.host)) }}
{{- $ports = append $ports (last $hostPort | int) }}
{{- else if eq $url.scheme "https" }}
{{- $ports = append $ports 443 }}
{{- else }}
{{- $ports = append $ports 80 }}
{{- end }}
{{- end }}
{{- $sorted := list }}
{{- range $p := $ports | uniq }}{{ $sorted = append $sorted (printf "%05d" $p) }}{{ end }}
{{- $out := list }}
{{- range $sorted | sortAlpha }}{{ $out = append $out (atoi .) }}{{ end }}
{{- toJson $out }}
{{- end }}
