{{/*
Names, labels and the pieces every service shares. A service is passed to the
per-service helpers as (dict "root" $ "name" "<service>").
*/}}

{{- define "dialgrid.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dialgrid.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* <fullname>-<service>: the Deployment, Service, ConfigMap, ... of one service. */}}
{{- define "dialgrid.serviceName" -}}
{{- printf "%s-%s" (include "dialgrid.fullname" .root) .name -}}
{{- end -}}

{{/* The executable inside each image (agent-state's drops the dash). */}}
{{- define "dialgrid.binary" -}}
{{- printf "/usr/bin/dialgrid-%s" (replace "-" "" .) -}}
{{- end -}}

{{- define "dialgrid.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "dialgrid.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: dialgrid
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "dialgrid.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dialgrid.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "dialgrid.serviceLabels" -}}
{{ include "dialgrid.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "dialgrid.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "dialgrid.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "dialgrid.image" -}}
{{- $img := .root.Values.image -}}
{{- $tag := default .root.Chart.AppVersion $img.tag -}}
{{- if $img.registry -}}
{{- printf "%s/%s/%s:%s" $img.registry $img.repository .name $tag -}}
{{- else -}}
{{- printf "%s/%s:%s" $img.repository .name $tag -}}
{{- end -}}
{{- end -}}

{{/*
The gRPC paths between services, the one place they are written down: each
service lists the peers it calls. The flags (--tenancy, --contacts) and the
NetworkPolicies are both made from it, so they cannot disagree.
*/}}
{{- define "dialgrid.peers" -}}
tenancy: []
contacts: [tenancy]
compliance: [tenancy]
agent-state: [tenancy]
dialing: [tenancy, contacts, compliance, agent-state]
recording: [tenancy]
reporting: [tenancy]
wallboard: [tenancy, agent-state, dialing, reporting]
{{- end -}}

{{/*
The wallboard is the one HTTP service: a page for supervisors' browsers on
the port named http, no Redis, no Kafka and no credential of its own (every
call it makes carries the viewer's). "true" for it, "" for the gRPC services.
*/}}
{{- define "dialgrid.isHttp" -}}
{{- if eq . "wallboard" }}true{{ end -}}
{{- end -}}

{{/* The name of a service's public port: grpc, or http for the wallboard. */}}
{{- define "dialgrid.apiPortName" -}}
{{- if include "dialgrid.isHttp" . }}http{{ else }}grpc{{ end -}}
{{- end -}}

{{/* Files of the service's ConfigMap besides its flag file, key -> content. */}}
{{- define "dialgrid.configFiles" -}}
{{- $root := .root -}}
{{- $out := dict -}}
{{- if and $root.Values.redis.placement (not (include "dialgrid.isHttp" .name)) -}}
{{- $lines := list -}}
{{- range $root.Values.redis.placement -}}
{{- $lines = append $lines (printf "%s %s" .tenant .address) -}}
{{- end -}}
{{- $_ := set $out "redis-placement" (printf "# Tenants on Redis deployments of their own (<tenant> <host:port or sentinel://...>).\n%s\n" (join "\n" $lines)) -}}
{{- end -}}
{{- if eq .name "reporting" -}}
{{- with (index $root.Values.services "reporting").billingPlans -}}
{{- $lines := list -}}
{{- range . -}}
{{- $lines = append $lines (printf "%s %s %s %v %v %v %v %v" .tenant .plan .currency (int64 .fixedMicros) (int64 .includedMinutes) (int64 .minuteOverageMicros) (int64 .includedStorageBytes) (int64 .gibOverageMicros)) -}}
{{- end -}}
{{- $_ := set $out "billing-plans" (printf "%s\n" (join "\n" $lines)) -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* host:port of a peer service inside the cluster. */}}
{{- define "dialgrid.peerAddress" -}}
{{- printf "%s-%s.%s.svc:%d" (include "dialgrid.fullname" .root) .name .root.Release.Namespace (int .root.Values.grpcPort) -}}
{{- end -}}

{{/* Where secrets and data are mounted in every container. */}}
{{- define "dialgrid.paths" -}}
bootstrap: /var/run/secrets/dialgrid/bootstrap
tls: /var/run/secrets/dialgrid/tls
ca: /var/run/secrets/dialgrid/ca
kek: /var/run/secrets/dialgrid/kek
redisAuth: /var/run/secrets/dialgrid/redis
kafkaAuth: /var/run/secrets/dialgrid/kafka
kafkaCa: /var/run/secrets/dialgrid/kafka-ca
redisTlsConfig: /etc/dialgrid/redis-tls
redisTlsCa: /var/run/secrets/dialgrid/redis-tls-ca
redisTlsClient: /var/run/secrets/dialgrid/redis-tls-client
config: /etc/dialgrid
registries: /var/lib/dialgrid/registries
recordings: /var/lib/dialgrid/recordings
data: /usr/share/dialgrid
{{- end -}}

{{/*
The service's flag file (absl --flagfile): every flag it is started with, one
a line. The ConfigMap holds it and the pod template carries its checksum.
*/}}
{{- define "dialgrid.flags" -}}
{{- if include "dialgrid.isHttp" .name -}}
{{- include "dialgrid.wallboardFlags" . -}}
{{- else -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $svc := index $root.Values.services $name -}}
{{- $paths := include "dialgrid.paths" . | fromYaml -}}
{{- $peers := index (include "dialgrid.peers" . | fromYaml) $name -}}
--listen=0.0.0.0:{{ $root.Values.grpcPort }}
--admin_listen=0.0.0.0:{{ $root.Values.adminPort }}
{{- $redis := required "redis.address is required (host:port of the vendor's Redis master)" $root.Values.redis.address }}
{{- if $root.Values.redis.tls.enabled }}
{{- if hasPrefix "sentinel://" $redis }}
{{- fail "redis.address: a sentinel:// address cannot be used with redis.tls.enabled: the TLS sidecar connects to one fixed host:port and cannot follow a failover" }}
{{- end }}
{{- /* The stunnel sidecar on the pod's loopback carries it to $redis over TLS. */}}
--redis=127.0.0.1:{{ $root.Values.redis.tls.localPort }}
{{- else }}
--redis={{ $redis }}
{{- end }}
{{- if $root.Values.redis.placement }}
{{- if $root.Values.redis.tls.enabled }}
{{- fail "redis.placement cannot be used with redis.tls.enabled: the TLS sidecar reaches redis.address only" }}
{{- end }}
--redis_placement_file={{ $paths.config }}/redis-placement
{{- end }}
{{- with $root.Values.redis.auth }}
{{- if .existingSecret }}
--redis_password_file={{ $paths.redisAuth }}/{{ .passwordKey }}
{{- if .username }}
--redis_username={{ .username }}
{{- end }}
{{- end }}
{{- end }}
--kafka={{ required "kafka.bootstrapServers is required" $root.Values.kafka.bootstrapServers }}
{{- with $root.Values.kafka.security }}
--kafka_security_protocol={{ .protocol }}
{{- if hasPrefix "SASL_" .protocol }}
--kafka_sasl_mechanism={{ .saslMechanism }}
--kafka_sasl_username={{ .username }}
--kafka_sasl_password_file={{ $paths.kafkaAuth }}/{{ .passwordKey }}
{{- end }}
{{- if .caSecret }}
--kafka_tls_ca_file={{ $paths.kafkaCa }}/{{ .caKey }}
{{- end }}
{{- end }}
--drain_seconds={{ $root.Values.drainSeconds }}
--workers={{ $svc.workers }}
{{- if $root.Values.tls.enabled }}
--tls_cert_file={{ $paths.tls }}/tls.crt
--tls_key_file={{ $paths.tls }}/tls.key
{{- if $root.Values.tls.mutual }}
{{- /* Clients' certificates verified against the platform's CA; the service
       credential is accepted only with one. */}}
--tls_client_ca_file={{ $paths.ca }}/{{ $root.Values.tls.caKey }}
{{- end }}
{{- end }}
{{- if eq $name "tenancy" }}
--bootstrap_admin_secret_file={{ $paths.bootstrap }}/{{ $root.Values.bootstrap.adminSecretKey }}
--bootstrap_service_secret_file={{ $paths.bootstrap }}/{{ $root.Values.bootstrap.serviceSecretKey }}
{{- else }}
--service_secret_file={{ $paths.bootstrap }}/{{ $root.Values.bootstrap.serviceSecretKey }}
{{- if $root.Values.tls.enabled }}
--peer_tls=true
{{- if $root.Values.tls.caSecret }}
--peer_tls_ca_file={{ $paths.ca }}/{{ $root.Values.tls.caKey }}
{{- end }}
{{- if $root.Values.tls.mutual }}
{{- /* The serving pair doubles as the client certificate to peers. */}}
--peer_tls_cert_file={{ $paths.tls }}/tls.crt
--peer_tls_key_file={{ $paths.tls }}/tls.key
{{- end }}
{{- end }}
{{- end }}
{{- range $peer := $peers }}
--{{ replace "-" "_" $peer }}={{ include "dialgrid.peerAddress" (dict "root" $root "name" $peer) }}
{{- end }}
{{- if or (eq $name "contacts") (eq $name "compliance") }}
--zone_data_dir={{ $paths.data }}/geo
--zone_tab=/usr/share/zoneinfo/zone.tab
{{- end }}
{{- if eq $name "compliance" }}
--statutory_rules_dir={{ $paths.data }}/compliance
--calling_hours={{ $paths.data }}/compliance/calling_hours.tsv
--redis_wait_replicas={{ $svc.redisWaitReplicas }}
--audit_retention_days={{ $svc.auditRetentionDays }}
{{- if $svc.registries }}
{{- $list := list }}
{{- range $svc.registries }}
{{- $list = append $list (printf "%s:%s:%s/%s" .id .kind $paths.registries .file) }}
{{- end }}
--registries={{ join "," $list }}
{{- end }}
{{- end }}
{{- if eq $name "dialing" }}
--peer_timeout_ms={{ $svc.peerTimeoutMs }}
--carrier_scenario={{ $paths.data }}/scenarios/{{ $svc.carrierScenario }}
--carrier_seed={{ $svc.carrierSeed }}
--grace_ms={{ $svc.graceMs }}
--lease_ttl_ms={{ $svc.leaseTtlMs }}
{{- if $root.Values.tls.enabled }}
{{- /* Replicas reach each other by pod IP; the certificate carries the Service's name. */}}
--forward_tls_server_name={{ printf "%s-dialing.%s.svc" (include "dialgrid.fullname" $root) $root.Release.Namespace }}
{{- end }}
{{- end }}
{{- if eq $name "recording" }}
--recordings_dir={{ $paths.recordings }}
--kek_dir={{ $paths.kek }}
--retention_days={{ $svc.retentionDays }}
{{- end }}
{{- if eq $name "reporting" }}
--consumer_group={{ $svc.consumerGroup }}
--key_prefix={{ $svc.keyPrefix }}
--consume={{ $svc.consume }}
{{- if $svc.billingPlans }}
--billing_plans={{ $paths.config }}/billing-plans
{{- end }}
{{- end }}
{{- range $flag, $value := $svc.extraFlags }}
--{{ $flag }}={{ $value }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The wallboard's flag file: its two HTTP listeners, the four services it
reads through (tenancy, agent-state, dialing, reporting) and TLS like the others.
*/}}
{{- define "dialgrid.wallboardFlags" -}}
{{- $root := .root -}}
{{- $svc := index $root.Values.services .name -}}
{{- $paths := include "dialgrid.paths" . | fromYaml -}}
--listen=0.0.0.0:{{ $root.Values.httpPort }}
--admin_listen=0.0.0.0:{{ $root.Values.adminPort }}
{{- range $peer := index (include "dialgrid.peers" . | fromYaml) .name }}
--{{ replace "-" "_" $peer }}_address={{ include "dialgrid.peerAddress" (dict "root" $root "name" $peer) }}
{{- end }}
--rpc_timeout_ms={{ $svc.rpcTimeoutMs }}
--max_concurrent_boards={{ $svc.maxConcurrentBoards }}
{{- if $root.Values.tls.enabled }}
--tls_cert_file={{ $paths.tls }}/tls.crt
--tls_key_file={{ $paths.tls }}/tls.key
--peer_tls=true
{{- if $root.Values.tls.caSecret }}
--peer_tls_ca_file={{ $paths.ca }}/{{ $root.Values.tls.caKey }}
{{- end }}
{{- end }}
{{- range $flag, $value := $svc.extraFlags }}
--{{ $flag }}={{ $value }}
{{- end }}
{{- end -}}

{{/* The services that are enabled, in start order. */}}
{{- define "dialgrid.enabledServices" -}}
{{- $out := list -}}
{{- range $name := list "tenancy" "contacts" "compliance" "agent-state" "dialing" "recording" "reporting" "wallboard" -}}
{{- if (index $.Values.services $name).enabled -}}
{{- $out = append $out $name -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}


{{/*
The stunnel sidecar's configuration (redis.tls): a client that accepts on the
pod's loopback and connects over TLS to redis.address, verifying the chain
and the name unless redis.tls.verify is off. Never plaintext to Redis: a
failed handshake closes the service's connection. helm.redis_tls runs
stunnel with exactly this file against a TLS-only redis-server.
*/}}
{{- define "dialgrid.stunnelConf" -}}
{{- $t := .Values.redis.tls -}}
{{- $paths := include "dialgrid.paths" . | fromYaml -}}
{{- $addr := required "redis.address is required (host:port of the vendor's Redis master)" .Values.redis.address -}}
{{- $host := regexReplaceAll ":[0-9]+$" $addr "" | trimPrefix "[" | trimSuffix "]" -}}
{{- $name := default $host $t.serverName -}}
{{- $isIP := or (regexMatch "^[0-9.]+$" $name) (contains ":" $name) -}}
; stunnel 5 (Debian 12's stunnel4): TLS to Redis for the service in this pod.
; Generated by the dialgrid chart from redis.address and redis.tls.
foreground = yes
syslog = no
pid =
debug = notice

[redis]
client = yes
accept = 127.0.0.1:{{ $t.localPort }}
connect = {{ $addr }}
; resolve at every connection: Redis' address may move (failover, new Service IP)
delay = yes
sslVersionMin = TLSv1.2
; idle pool and Pub/Sub connections are kept (stunnel's longest idle timeout)
TIMEOUTidle = 2147483
socket = l:TCP_NODELAY=1
socket = r:TCP_NODELAY=1
socket = r:SO_KEEPALIVE=1
{{- if $isIP }}
sni =
{{- else }}
sni = {{ $name }}
{{- end }}
{{- if $t.verify }}
verifyChain = yes
{{- if $t.caSecret }}
CAfile = {{ $paths.redisTlsCa }}/{{ $t.caKey }}
{{- else if $t.caConfigMap }}
CAfile = {{ $paths.redisTlsCa }}/{{ $t.caKey }}
{{- else }}
CAfile = /etc/ssl/certs/ca-certificates.crt
{{- end }}
{{- if $isIP }}
checkIP = {{ $name }}
{{- else }}
checkHost = {{ $name }}
{{- end }}
{{- else }}
; redis.tls.verify is off: encrypted, but Redis' certificate is not checked
verifyChain = no
{{- end }}
{{- if $t.clientCertSecret }}
cert = {{ $paths.redisTlsClient }}/tls.crt
key = {{ $paths.redisTlsClient }}/tls.key
{{- end }}
{{- end -}}
