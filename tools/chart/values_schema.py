"""Writes helm/dialgrid/values.schema.json (run it after changing the values:
python3 tools/chart/values_schema.py > helm/dialgrid/values.schema.json).
tools/check_chart.py fails when the committed schema differs from its output.
One definition per service kind keeps the six services' schemas alike; every
object is closed (additionalProperties false) so a typo fails."""
import json, copy
def obj(props, required=None, desc=None):
    o = {"type": "object", "additionalProperties": False, "properties": props}
    if required: o["required"] = required
    if desc: o["description"] = desc
    return o
# host:port, or sentinel://host:port[,host:port...]/<master name> (the forms
# the services' --redis and placement lines take; unix sockets do not cross
# pods).
_HOSTPORT = r"[^\s:/,]+:[0-9]{1,5}"
REDIS_ADDRESS = rf"^({_HOSTPORT}|sentinel://{_HOSTPORT}(,{_HOSTPORT})*/[^\s/,:]+)$"


def s(desc, **kw): return {"type": "string", "description": desc, **kw}
def i(desc, **kw): return {"type": "integer", "description": desc, **kw}
def b(desc): return {"type": "boolean", "description": desc}
def smap(desc): return {"type": "object", "description": desc, "additionalProperties": {"type": "string"}}
def anymap(desc): return {"type": "object", "description": desc}
def arr(desc, items=None, **kw): return {"type": "array", "description": desc, "items": items or {"type": "object"}, **kw}

quantity = {"anyOf": [{"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$"}, {"type": "number", "minimum": 0}]}
def q(desc): return {**copy.deepcopy(quantity), "description": desc}
resources = obj({
  "requests": obj({"cpu": q("CPU request (e.g. 500m)."), "memory": q("Memory request (e.g. 512Mi).")}, ["cpu", "memory"], "Resource requests; both cpu and memory are required."),
  "limits": obj({"cpu": q("CPU limit (unset by default: throttling adds gRPC latency)."), "memory": q("Memory limit.")}, ["memory"], "Resource limits; memory is required."),
}, ["requests", "limits"], "Container resources (required).")

def service(name, extra, extra_required=(), workers=True):
    props = {
      "enabled": b(f"Deploy the {name} service."),
      "replicaCount": i("Replicas when autoscaling is off.", minimum=1),
      "workers": i("Handler threads (--workers); the Redis pool follows it.", minimum=1),
      "resources": resources,
      "autoscaling": obj({
        "enabled": b("Create a HorizontalPodAutoscaler (autoscaling/v2) instead of a fixed replica count."),
        "minReplicas": i("Fewest replicas.", minimum=1),
        "maxReplicas": i("Most replicas.", minimum=1),
        "targetCPUUtilizationPercentage": i("Average CPU utilization (of requests) the HPA aims for.", minimum=1, maximum=100),
      }, ["enabled", "minReplicas", "maxReplicas", "targetCPUUtilizationPercentage"], "Horizontal pod autoscaling."),
      "pdb": obj({
        "enabled": b("Create a PodDisruptionBudget."),
        "minAvailable": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^([0-9]+%)?$"}], "description": "Pods that must stay available (number or percentage); when set it is used instead of maxUnavailable."},
        "maxUnavailable": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^([0-9]+%)?$"}], "description": "Pods that may be unavailable at once (number or percentage), used when minAvailable is empty."},
      }, ["enabled", "minAvailable", "maxUnavailable"], "Pod disruption budget."),
      "extraFlags": {"type": "object", "description": "More flags for the service's flag file, name (without --) to value; tools/check_chart.py checks every name against the binary's flags.",
                     "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
                     "additionalProperties": {"type": ["string", "integer", "boolean"]}},
      "podAnnotations": smap("Annotations for this service's pods (merged over the top-level podAnnotations)."),
    }
    if not workers:
        del props["workers"]
    props.update(extra)
    return obj(props, ["enabled", "replicaCount", *(["workers"] if workers else []), "resources", "autoscaling", "pdb", *extra_required], f"The {name} service.")

peer = {"type": "object", "description": "A NetworkPolicy peer (namespaceSelector, podSelector and/or ipBlock).",
        "additionalProperties": False,
        "properties": {"namespaceSelector": {"type": "object"}, "podSelector": {"type": "object"}, "ipBlock": {"type": "object"}}}
port = {"type": "integer", "minimum": 1, "maximum": 65535}

schema = {
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Dialgrid chart values",
  **obj({
    "nameOverride": s("Replaces the chart name in resource names."),
    "fullnameOverride": s("Replaces <release>-<chart> as the prefix of every resource name."),
    "image": obj({
      "registry": s("Registry host (and port) of the images; empty: none (the cluster's default)."),
      "repository": s("Repository path; each service's image is <registry>/<repository>/<service>.", minLength=1),
      "tag": s("Image tag; empty: the chart's appVersion."),
      "pullPolicy": s("Image pull policy.", enum=["Always", "IfNotPresent", "Never"]),
      "pullSecrets": arr("Names of existing docker-registry Secrets to pull with.", {"type": "string"}),
    }, ["repository", "pullPolicy"], "Container images (built by deploy/build-images.sh)."),
    "serviceAccount": obj({
      "create": b("Create the ServiceAccount (its API token is never mounted: the services do not call the Kubernetes API)."),
      "name": s("ServiceAccount to use; empty: <fullname>."),
      "annotations": smap("Annotations of the created ServiceAccount."),
    }, ["create"], "The pods' ServiceAccount."),
    "redis": obj({
      "address": s("The vendor's Redis (required): the master's host:port, or sentinel://host:port[,host:port...]/<master name> to ask the vendor's Sentinels for the current master and follow a failover without a restart (docs/operations.md, Redis Sentinel). With tls.enabled, the TLS port of a fixed host:port (the sidecar cannot follow Sentinel).", pattern=REDIS_ADDRESS.replace("^(", "^(|", 1)),
      "auth": obj({
        "existingSecret": s("Existing Secret holding the Redis password, mounted read-only into every service and sent (AUTH) on every connection (--redis_password_file); empty: no AUTH."),
        "passwordKey": s("Key of the password in that Secret.", minLength=1),
        "username": s("Redis 6+ ACL user to log in as (--redis_username); empty: the default user (requirepass). Needs existingSecret."),
      }, ["existingSecret", "passwordKey"], "Redis AUTH (docs/operations.md, Redis and Kafka with credentials)."),
      "placement": arr("Tenants placed on Redis deployments of their own (the vendor's big clients, or data-residency): every key of a listed tenant lives on its address, platform-wide keys and every other tenant stay on redis.address. Every service gets the same list (a ConfigMap file, --redis_placement_file). Not with tls.enabled (the sidecar reaches redis.address only).",
        obj({
          "tenant": s("Tenant id.", pattern="^[a-z][a-z0-9-]{2,39}$"),
          "address": s("That tenant's Redis (same AUTH as redis.auth): its master's host:port, or sentinel://host:port[,host:port...]/<master name>.", pattern=REDIS_ADDRESS),
        }, ["tenant", "address"], "One tenant and its Redis.")),
      "tls": obj({
        "enabled": b("Reach Redis over TLS through a sidecar: every pod gets an stunnel container (a native sidecar, image <registry>/<repository>/stunnel) listening on 127.0.0.1:localPort and forwarding over TLS to redis.address; the service's --redis points at it (hiredis 0.14 has no TLS of its own)."),
        "verify": b("Verify Redis' certificate: its chain against the CA (caSecret, caConfigMap or the system's roots) and its name against serverName. Off: encrypted but not authenticated (open to a man in the middle)."),
        "serverName": s("Name Redis' certificate must carry, also sent as SNI; empty: the host of redis.address (an IP address is checked as an IP, and no SNI is sent)."),
        "caSecret": s("Existing Secret holding the CA bundle Redis' certificate chains to (key caKey); empty: caConfigMap, or the system's roots when both are empty."),
        "caConfigMap": s("Existing ConfigMap holding that CA bundle instead (key caKey); at most one of caSecret and caConfigMap."),
        "caKey": s("Key of the CA bundle in caSecret or caConfigMap.", minLength=1),
        "clientCertSecret": s("Existing kubernetes.io/tls Secret (tls.crt, tls.key) for mutual TLS: the sidecar presents it to Redis (tls-auth-clients yes); empty: no client certificate."),
        "localPort": {**port, "description": "Port of the sidecar on the pod's loopback (127.0.0.1) that the service connects to; must differ from grpcPort and adminPort."},
        "resources": obj({
          "requests": obj({"cpu": q("CPU request of the sidecar."), "memory": q("Memory request of the sidecar.")}, ["cpu", "memory"], "Sidecar resource requests."),
          "limits": obj({"cpu": q("CPU limit of the sidecar (unset by default)."), "memory": q("Memory limit of the sidecar.")}, ["memory"], "Sidecar resource limits."),
        }, ["requests", "limits"], "Resources of the stunnel sidecar (added to every pod's)."),
      }, ["enabled", "verify", "serverName", "caSecret", "caConfigMap", "caKey", "clientCertSecret", "localPort", "resources"],
         "TLS to Redis through an stunnel sidecar in every pod (docs/operations.md, Redis over TLS)."),
    }, ["address"], "External Redis."),
    "kafka": obj({
      "bootstrapServers": s("Kafka bootstrap servers, comma-separated host:port (required)."),
      "security": obj({
        "protocol": s("security.protocol of every producer and consumer (--kafka_security_protocol).", enum=["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]),
        "saslMechanism": s("SASL mechanism (--kafka_sasl_mechanism); required with SASL_PLAINTEXT and SASL_SSL, empty otherwise.", enum=["", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]),
        "username": s("SASL username (--kafka_sasl_username); required with SASL, empty otherwise."),
        "existingSecret": s("Existing Secret holding the SASL password, mounted read-only (--kafka_sasl_password_file); required with SASL, empty otherwise."),
        "passwordKey": s("Key of the SASL password in that Secret.", minLength=1),
        "caSecret": s("Existing Secret holding the CA the brokers' certificates chain to (--kafka_tls_ca_file; SSL and SASL_SSL only); empty: the system's roots."),
        "caKey": s("Key of the CA certificate in caSecret.", minLength=1),
      }, ["protocol", "saslMechanism", "username", "existingSecret", "passwordKey", "caSecret", "caKey"], "How the services log in to Kafka (docs/operations.md, Redis and Kafka with credentials)."),
    }, ["bootstrapServers"], "External Apache Kafka."),
    "bootstrap": obj({
      "existingSecret": s("Existing Secret with the bootstrap vendor-admin secret and the platform services' secret (required; each made with dialgrid-tenancy --print_new_secret)."),
      "adminSecretKey": s("Key of the vendor-admin secret in that Secret (mounted into tenancy only).", minLength=1),
      "serviceSecretKey": s("Key of the services' secret in that Secret (mounted into every service).", minLength=1),
    }, ["existingSecret", "adminSecretKey", "serviceSecretKey"], "Bootstrap credentials (docs/operations.md, Bootstrap)."),
    "tls": obj({
      "enabled": b("Serve gRPC over TLS and call peers over TLS. Probes then use the admin port's HTTP paths (the kubelet's gRPC probe speaks plaintext only)."),
      "existingSecret": s("Existing kubernetes.io/tls Secret (tls.crt, tls.key) whose certificate names every service (<fullname>-<service>.<namespace>.svc); required with enabled."),
      "caSecret": s("Existing Secret holding the CA that peers' certificates chain to; empty: the system's roots."),
      "caKey": s("Key of the CA certificate in caSecret.", minLength=1),
      "mutual": b("Mutual TLS between services (needs enabled and caSecret): every gRPC service verifies clients' certificates against caSecret's CA (--tls_client_ca_file) and accepts the platform's service credential only with one; each presents its serving pair (existingSecret, which must then allow client authentication) to its peers. Tenants' systems connect without certificates as before (docs/operations.md, Mutual TLS between services)."),
    }, ["enabled"], "TLS on the gRPC ports (a renewed certificate is read again within --tls_reload_seconds, 60 s, without a restart; the CA and the wallboard's certificate are read at start)."),
    "grpcPort": {**port, "description": "gRPC port of every service (named grpc)."},
    "adminPort": {**port, "description": "Admin HTTP port (named admin): /metrics, /healthz, /readyz."},
    "httpPort": {**port, "description": "The wallboard's page port (named http; HTTPS with tls.enabled)."},
    "drainSeconds": i("How long in-flight RPCs may finish on SIGTERM (--drain_seconds).", minimum=0),
    "terminationGracePeriodSeconds": i("Pod termination grace; keep it above preStopSleepSeconds + drainSeconds + 5 (Kafka flush).", minimum=1),
    "preStopSleepSeconds": i("preStop sleep before SIGTERM so endpoints drop the pod first; 0: none.", minimum=0),
    "podSecurityContext": anymap("Pod securityContext (non-root user 10001 of the images, seccomp RuntimeDefault)."),
    "containerSecurityContext": anymap("Container securityContext (read-only root filesystem, no privilege escalation, all capabilities dropped)."),
    "topologySpread": obj({
      "enabled": b("Spread each service's pods over zones and nodes."),
      "maxSkew": i("Largest allowed difference of pods between two zones or nodes.", minimum=1),
      "whenUnsatisfiable": s("What to do when the spread cannot be met.", enum=["ScheduleAnyway", "DoNotSchedule"]),
    }, ["enabled", "maxSkew", "whenUnsatisfiable"], "Topology spread constraints."),
    "probes": obj({
      k: obj({"periodSeconds": i("Probe period.", minimum=1), "timeoutSeconds": i("Probe timeout.", minimum=1), "failureThreshold": i("Failures before acting.", minimum=1)},
             ["periodSeconds", "timeoutSeconds", "failureThreshold"], d)
      for k, d in [("liveness", "Liveness probe (gRPC health service 'liveness'; never checks Redis or Kafka)."),
                   ("readiness", "Readiness probe (gRPC health service ''; Redis and tenancy answer)."),
                   ("startup", "Startup probe (liveness check while the process starts, e.g. loading registries).")]
    }, ["liveness", "readiness", "startup"], "Probe timings."),
    "networkPolicy": obj({
      "enabled": b("Create one NetworkPolicy per service allowing only the paths the architecture uses (peer gRPC calls, API clients, metrics scraping, DNS, Redis, Kafka)."),
      "apiClients": arr("Peers allowed to call the public gRPC API of every service (tenants' systems, the ingress controller).", peer),
      "wallboardClients": arr("Peers allowed to open the wallboard's page (supervisors' networks, the ingress controller).", peer),
      "metricsFrom": arr("Peers allowed to reach the admin port (Prometheus).", peer),
      "dnsPort": {**port, "description": "DNS port allowed for egress (UDP and TCP, any destination)."},
      "redisEgress": obj({"to": arr("Where Redis is (NetworkPolicy peers); empty: any destination on the ports.", peer),
                          "ports": arr("Redis ports (master and Sentinel).", port, minItems=1)}, ["to", "ports"], "Egress to Redis."),
      "kafkaEgress": obj({"to": arr("Where Kafka is (NetworkPolicy peers); empty: any destination on the ports.", peer),
                          "ports": arr("Kafka broker ports.", port, minItems=1)}, ["to", "ports"], "Egress to Kafka."),
    }, ["enabled"], "Network policies."),
    "serviceMonitor": obj({
      "enabled": b("Create a Prometheus Operator ServiceMonitor per service (monitoring.coreos.com/v1)."),
      "interval": s("Scrape interval.", pattern="^[0-9]+(ms|s|m|h)$"),
      "scrapeTimeout": s("Scrape timeout.", pattern="^[0-9]+(ms|s|m|h)$"),
      "labels": smap("Labels the Prometheus instance selects ServiceMonitors by."),
    }, ["enabled"], "Prometheus Operator scraping."),
    "commonLabels": smap("Labels added to every object."),
    "podAnnotations": smap("Annotations for every pod."),
    "nodeSelector": smap("Node selector for every pod."),
    "tolerations": arr("Tolerations for every pod."),
    "affinity": anymap("Affinity for every pod."),
    "priorityClassName": s("PriorityClass of every pod; empty: none."),
    "services": obj({
      "tenancy": service("tenancy", {}),
      "contacts": service("contacts", {}),
      "compliance": service("compliance", {
        "registries": arr("Vendor-wide registries (--registries): index files built with dialgrid-registry-build, each with its .manifest beside it, on the registries volume.",
                          obj({"id": s("Registry id rule sets name.", pattern="^[a-z0-9][a-z0-9-]*$"),
                               "kind": s("dnc or wireless.", enum=["dnc", "wireless"]),
                               "file": s("Index file name on the registries volume.", pattern="^[A-Za-z0-9._-]+$")},
                              ["id", "kind", "file"])),
        "registriesClaim": s("Existing PersistentVolumeClaim (ReadOnlyMany) holding the registry indexes, mounted read-only and shared by every replica; required when registries are listed."),
        "redisWaitReplicas": i("Redis replicas that must acknowledge every compliance write (--redis_wait_replicas).", minimum=0),
        "auditRetentionDays": i("How long decisions stay queryable in Redis (--audit_retention_days).", minimum=1),
      }, ["registries", "registriesClaim"]),
      "agent-state": service("agent-state", {}),
      "dialing": service("dialing", {
        "peerTimeoutMs": i("The longest a call to a peer service may take (--peer_timeout_ms).", minimum=1),
        "carrierScenario": s("The simulated carrier's scenario, a file of the pacing simulator's public suite in the image (--carrier_scenario).", pattern="^[a-z0-9-]+\\.json$"),
        "carrierSeed": i("The simulated carrier's seed (--carrier_seed).", minimum=0),
        "graceMs": i("Answer -> agent connected within this, or the abandon message plays (--grace_ms; FCC: 2000).", minimum=100, maximum=2000),
        "leaseTtlMs": i("A dead replica's campaigns are taken over after this (--lease_ttl_ms).", minimum=1000),
      }, ["peerTimeoutMs", "carrierScenario", "carrierSeed", "graceMs", "leaseTtlMs"]),
      "recording": service("recording", {
        "kekSecret": s("Existing Secret of the tenants' key-encryption keys, one key <tenant>.<key id>.key of 64 hex digits each (--kek_dir); required when recording is enabled."),
        "retentionDays": i("Default recording retention (--retention_days).", minimum=1),
        "persistence": obj({
          "existingClaim": s("Existing PersistentVolumeClaim for the encrypted recordings; empty: the chart creates one (kept on uninstall)."),
          "size": q("Size of the created claim."),
          "storageClassName": s("StorageClass of the created claim; empty: the cluster's default."),
          "accessModes": arr("Access modes of the created claim (ReadWriteMany when several replicas share it).", {"type": "string", "enum": ["ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod"]}, minItems=1),
        }, ["existingClaim", "size", "accessModes"], "Storage of the recordings."),
      }, ["kekSecret", "persistence"]),
      "reporting": service("reporting", {
        "consumerGroup": s("Kafka consumer group of every replica (--consumer_group); a rebuild uses a new one with a new keyPrefix.", minLength=1),
        "keyPrefix": s("Prefix of the report keys in Redis (--key_prefix), the counters' generation.", pattern="^[a-z0-9-]{1,32}$"),
        "consume": b("Consume the topics (--consume); false: query-only replicas."),
        "billingPlans": arr("Billing plans (--billing_plans): what GetUsage bills each tenant; tenant '*' is the default. Empty: usage without a bill.",
                            obj({"tenant": s("Tenant id, or '*' for every tenant without a plan of its own.", pattern="^(\\*|[a-z0-9][a-z0-9-]*)$"),
                                 "plan": s("Plan name shown on the bill.", pattern="^[A-Za-z0-9._-]+$"),
                                 "currency": s("ISO 4217 currency code.", pattern="^[A-Z]{3}$"),
                                 "fixedMicros": i("Fixed monthly fee, in millionths of the currency.", minimum=0),
                                 "includedMinutes": i("Connected minutes included in the fee.", minimum=0),
                                 "minuteOverageMicros": i("Price of each minute beyond them, in millionths.", minimum=0),
                                 "includedStorageBytes": i("Recording storage included, in bytes.", minimum=0),
                                 "gibOverageMicros": i("Price of each GiB beyond it, in millionths.", minimum=0)},
                                ["tenant", "plan", "currency", "fixedMicros", "includedMinutes", "minuteOverageMicros", "includedStorageBytes", "gibOverageMicros"])),
      }, ["consumerGroup", "keyPrefix", "consume", "billingPlans"]),
      "wallboard": service("wallboard", {
        "rpcTimeoutMs": i("The longest one call to a service may take (--rpc_timeout_ms).", minimum=1),
        "maxConcurrentBoards": i("Boards built at once; more get 503 (--max_concurrent_boards).", minimum=1),
      }, ["rpcTimeoutMs", "maxConcurrentBoards"], workers=False),
    }, ["tenancy", "contacts", "compliance", "agent-state", "dialing", "recording", "reporting", "wallboard"], "Per-service settings."),
  }, ["image", "redis", "kafka", "bootstrap", "tls", "grpcPort", "adminPort", "services"]),
}
print(json.dumps(schema, indent=2))
