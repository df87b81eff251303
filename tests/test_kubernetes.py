"""The Kustomize base and the example overlay render (`kubectl kustomize`, no cluster) and every document validates
strictly against Kubernetes 1.32; the Deployment runs what the Dockerfile builds, with settings the service accepts;
the overlay replaces every placeholder of the base and is locked down (network, probes, spread, secrets as files)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cds_service.config import Settings

ROOT = Path(__file__).resolve().parents[1]
BASE, OVERLAY = ROOT / "deploy/kubernetes/base", ROOT / "deploy/kubernetes/overlays/example"
yaml = pytest.importorskip("yaml", reason="PyYAML comes with kubernetes-validate (pip install '.[test]')")
kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install '.[test]'")
pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl not installed (scripts/test installs Debian's kubernetes-client)"
)
KINDS = {
    "ConfigMap",
    "Deployment",
    "Service",
    "Ingress",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "NetworkPolicy",
}


def render(folder: Path) -> dict[str, dict]:
    rendered = subprocess.run(["kubectl", "kustomize", str(folder)], check=True, capture_output=True, text=True)
    return {doc["kind"]: doc for doc in yaml.safe_load_all(rendered.stdout)}


@pytest.fixture(scope="module", params=["base", "overlay"])
def documents(request) -> dict[str, dict]:
    return render(BASE if request.param == "base" else OVERLAY)


@pytest.fixture(scope="module")
def overlay() -> dict[str, dict]:
    return render(OVERLAY)


def pod_of(documents: dict[str, dict]) -> dict:
    return documents["Deployment"]["spec"]["template"]["spec"]


def test_every_document_validates_strictly_against_kubernetes_1_32(documents):
    assert set(documents) - {"Namespace"} == KINDS
    for doc in documents.values():
        kubernetes_validate.validate(doc, "1.32.0", strict=True)  # raises ValidationError naming the field


def test_a_misspelt_field_would_fail_validation(documents):
    """The strict check above means something: an unknown field in the pod spec is refused."""
    broken = json.loads(json.dumps(documents["Deployment"]))
    broken["spec"]["template"]["spec"]["terminationGracePeriod"] = 30
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.32.0", strict=True)


def test_deployment_runs_the_dockerfile_command_as_non_root_read_only(documents):
    pod = pod_of(documents)
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1)
    (container,) = pod["containers"]
    assert container["command"] == json.loads(cmd)
    assert re.search(r"^USER 10001", dockerfile, re.M)
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    assert documents["Deployment"]["spec"]["replicas"] >= 2


def test_probes_grace_period_and_resources(documents):
    pod = pod_of(documents)
    (container,) = pod["containers"]
    settings = documents["ConfigMap"]["data"]
    readiness, liveness = container["readinessProbe"], container["livenessProbe"]
    assert readiness["httpGet"]["path"] == "/readyz" and liveness["httpGet"]["path"] == "/healthz"
    assert readiness["failureThreshold"] >= 3  # one slow /readyz takes no pod out of rotation
    # the liveness probe starts once the startup probe passed: an initial delay there would only be dead time
    assert "initialDelaySeconds" not in liveness and container["startupProbe"]["httpGet"]["path"] == "/healthz"
    drain, deadline = float(settings["BACKPAIN_CDS_DRAIN_SECONDS"]), float(settings["BACKPAIN_CDS_FHIR_DEADLINE"])
    # drain, then gunicorn's graceful stop (calls in flight: up to the deadline + 5 s), inside the grace period
    assert pod["terminationGracePeriodSeconds"] > drain + deadline + 5
    assert {"requests", "limits"} <= container["resources"].keys()


def test_replicas_spread_across_nodes(documents):
    labels = documents["Deployment"]["spec"]["template"]["metadata"]["labels"]
    (by_node,) = [
        c for c in pod_of(documents)["topologySpreadConstraints"] if c["topologyKey"] == "kubernetes.io/hostname"
    ]
    assert by_node["maxSkew"] == 1 and by_node["whenUnsatisfiable"] == "DoNotSchedule"
    assert by_node["labelSelector"]["matchLabels"].items() <= labels.items()


def test_settings_are_ones_the_service_accepts_and_secrets_are_files(documents, tmp_path):
    pod = pod_of(documents)
    (container,) = pod["containers"]
    env = dict(documents["ConfigMap"]["data"])
    assert container["envFrom"] == [{"configMapRef": {"name": documents["ConfigMap"]["metadata"]["name"]}}]
    assert "env" not in container  # no secret as an environment variable
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    for name, setting, key in [
        ("jwt", "BACKPAIN_CDS_JWT_JWKS", "jwks.json"),
        ("database", "BACKPAIN_CDS_DATABASE_URL_FILE", "url"),
        ("policy", "BACKPAIN_CDS_POLICY_SECRET_FILE", "secret"),
    ]:
        assert mounts[name]["readOnly"] is True
        assert env[setting] == f"{mounts[name]['mountPath']}/{key}"
        assert volumes[name]["secret"]["items"] == [{"key": key, "path": key}]
        assert volumes[name]["secret"]["secretName"] == f"backpain-cds-{name}"
    # the service reads them: the same paths with files of our own
    jwks, url = tmp_path / "jwks.json", tmp_path / "url"
    jwks.write_text(json.dumps({"https://ehr.example.org": {"jwks_url": "https://ehr.example.org/k"}}))
    url.write_text("postgresql+psycopg://u@db/cds\n")
    (tmp_path / "secret").write_text("0" * 64)
    env |= {
        "BACKPAIN_CDS_JWT_JWKS": str(jwks),
        "BACKPAIN_CDS_DATABASE_URL_FILE": str(url),
        "BACKPAIN_CDS_POLICY_SECRET_FILE": str(tmp_path / "secret"),
    }
    if "metrics_port" not in {f.name for f in dataclasses.fields(Settings)}:
        pytest.skip("BACKPAIN_CDS_METRICS_PORT is not a setting on this branch yet (issue 20 adds it)")
    settings = Settings.from_env(env)  # raises ConfigError naming any unknown or invalid setting
    assert settings.database_url == "postgresql+psycopg://u@db/cds"


def test_metrics_have_their_own_port_scraped_by_prometheus(documents):
    pod_template = documents["Deployment"]["spec"]["template"]
    (container,) = pod_template["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8080, "metrics": int(documents["ConfigMap"]["data"]["BACKPAIN_CDS_METRICS_PORT"])}
    annotations = pod_template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == str(ports["metrics"])
    assert [p["targetPort"] for p in documents["Service"]["spec"]["ports"]] == ["http"]  # /metrics not in the Service


def test_service_budget_autoscaler_ingress_and_policy_select_the_pods(documents):
    labels = documents["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert documents["Service"]["spec"]["selector"].items() <= labels.items()
    assert documents["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert documents["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    target = documents["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", documents["Deployment"]["metadata"]["name"])
    assert documents["HorizontalPodAutoscaler"]["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    (rule,) = documents["Ingress"]["spec"]["rules"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": documents["Service"]["metadata"]["name"], "port": {"name": "http"}}


def test_ingress_is_tls_and_buffers_requests_up_to_the_body_limit(documents):
    ingress = documents["Ingress"]
    (tls,) = ingress["spec"]["tls"]
    assert tls["hosts"] == [rule["host"] for rule in ingress["spec"]["rules"]] and tls["secretName"]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "on"
    assert annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
    body_mb = int(annotations["nginx.ingress.kubernetes.io/proxy-body-size"].removesuffix("m"))
    assert body_mb * 1024 * 1024 == Settings().max_body_bytes


def test_network_policy_admits_the_ingress_controller_and_prometheus_only(documents):
    policy = documents["NetworkPolicy"]["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    by_port = {rule["ports"][0]["port"]: rule["from"] for rule in policy["ingress"]}
    assert set(by_port) == {"http", "metrics"}
    for sources in by_port.values():  # a namespace each, never "anyone"
        (source,) = sources
        assert set(source) == {"namespaceSelector"} and source["namespaceSelector"]["matchLabels"]
    assert by_port["metrics"] != by_port["http"]


def test_egress_is_dns_postgresql_in_its_namespace_and_https_only(documents):
    policy = documents["NetworkPolicy"]["spec"]
    ports = sorted({(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]})
    assert ports == [(53, "TCP"), (53, "UDP"), (443, "TCP"), (5432, "TCP")]
    (postgres,) = [rule for rule in policy["egress"] if rule["ports"] == [{"port": 5432, "protocol": "TCP"}]]
    (peer,) = postgres["to"]
    # a bare podSelector would mean this namespace only; PostgreSQL lives in its own
    assert peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
    assert peer["podSelector"]["matchLabels"]


def test_the_overlay_replaces_every_placeholder_of_the_base(overlay):
    """A user edits one folder: nothing of the base's example.org, its documentation CIDR or its bare image name
    survives the overlay, and the public URL (the JWT audience) is the Ingress host's."""
    rendered = json.dumps(overlay)
    assert "example.org" not in rendered and "203.0.113." not in rendered
    namespace = overlay["Namespace"]["metadata"]["name"]
    assert {doc["metadata"].get("namespace") for kind, doc in overlay.items() if kind != "Namespace"} == {namespace}
    assert overlay["Namespace"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    (container,) = pod_of(overlay)["containers"]
    assert re.fullmatch(r"[a-z0-9.-]+(:\d+)?/[a-z0-9/_.-]+@sha256:[0-9a-f]{64}", container["image"])
    (rule,) = overlay["Ingress"]["spec"]["rules"]
    assert overlay["ConfigMap"]["data"]["BACKPAIN_CDS_PUBLIC_BASE_URL"] == f"https://{rule['host']}"
    assert overlay["Ingress"]["spec"]["tls"][0]["hosts"] == [rule["host"]]
    base = render(BASE)
    assert overlay["ConfigMap"]["data"].keys() == base["ConfigMap"]["data"].keys()


def test_the_overlay_follows_an_edit_of_the_host_and_the_image(tmp_path):
    """The walkthrough's edits take effect: a copied overlay with another host and registry renders them."""
    shutil.copytree(ROOT / "deploy/kubernetes", tmp_path / "kubernetes")
    copy = tmp_path / "kubernetes/overlays/example"
    for name, old, new in [
        ("ingress.yaml", "cds.hospital.example", "cds.nhs-trust.example"),
        ("kustomization.yaml", "registry.hospital.example/clinical", "registry.trust.example/cds"),
    ]:
        (copy / name).write_text((copy / name).read_text().replace(old, new))
    rendered = render(copy)
    assert rendered["ConfigMap"]["data"]["BACKPAIN_CDS_PUBLIC_BASE_URL"] == "https://cds.nhs-trust.example"
    assert rendered["Ingress"]["spec"]["tls"][0]["hosts"] == ["cds.nhs-trust.example"]
    assert pod_of(rendered)["containers"][0]["image"].startswith("registry.trust.example/cds/backpain-cds@sha256:")


def test_the_readme_walkthrough_matches_what_the_overlay_renders(overlay):
    """The README's deploy steps name every file of the overlay, and the Secrets, keys, namespace and host that the
    rendered manifests expect."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Deploying to Kubernetes") :]
    section = section.split("\n## ")[0]
    assert "cp -r deploy/kubernetes/overlays/example deploy/kubernetes/overlays/production" in section
    assert "kubectl apply -k deploy/kubernetes/overlays/production" in section
    for path in OVERLAY.iterdir():
        assert f"`{path.name}`" in section, f"the walkthrough does not say what to edit in {path.name}"
    namespace = overlay["Namespace"]["metadata"]["name"]
    created = dict(re.findall(rf"kubectl -n {namespace} create secret generic (\S+) --from-file=(\S+)=", section))
    for volume in pod_of(overlay)["volumes"]:
        if "secret" in volume:
            (item,) = volume["secret"]["items"]
            assert created.pop(volume["secret"]["secretName"]) == item["key"]
    assert created == {}
    assert f"kubectl -n {namespace} create secret tls {overlay['Ingress']['spec']['tls'][0]['secretName']} " in section
    host = overlay["Ingress"]["spec"]["rules"][0]["host"]
    assert f"curl -fsS https://{host}/readyz" in section and f"`https://{host}/cds-services`" in section
    image = pod_of(overlay)["containers"][0]["image"].split("@")[0]
    assert f"docker push {image}:" in section
