"""The Kustomize base renders (`kubectl kustomize`, no cluster) and every document validates strictly against
Kubernetes 1.32; the Deployment runs what the Dockerfile builds, with settings the service accepts."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cds_service.config import Settings

ROOT = Path(__file__).resolve().parents[1]
yaml = pytest.importorskip("yaml", reason="PyYAML comes with kubernetes-validate (pip install '.[test]')")
kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install '.[test]'")
pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None,
                                reason="kubectl not installed (scripts/test installs Debian's kubernetes-client)")


@pytest.fixture(scope="module")
def documents() -> dict[str, dict]:
    rendered = subprocess.run(["kubectl", "kustomize", str(ROOT / "deploy/kubernetes")], check=True,
                              capture_output=True, text=True).stdout
    return {doc["kind"]: doc for doc in yaml.safe_load_all(rendered)}


@pytest.fixture(scope="module")
def pod(documents) -> dict:
    return documents["Deployment"]["spec"]["template"]["spec"]


def test_every_document_validates_strictly_against_kubernetes_1_32(documents):
    assert set(documents) == {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget",
                              "HorizontalPodAutoscaler", "NetworkPolicy"}
    for doc in documents.values():
        kubernetes_validate.validate(doc, "1.32.0", strict=True)  # raises ValidationError naming the field


def test_a_misspelt_field_would_fail_validation(documents):
    """The strict check above means something: an unknown field in the pod spec is refused."""
    broken = json.loads(json.dumps(documents["Deployment"]))
    broken["spec"]["template"]["spec"]["terminationGracePeriod"] = 30
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.32.0", strict=True)


def test_deployment_runs_the_dockerfile_command_as_non_root_read_only(documents, pod):
    cmd = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.M).group(1)
    (container,) = pod["containers"]
    assert container["command"] == json.loads(cmd)
    assert re.search(r"^USER 10001", (ROOT / "Dockerfile").read_text(), re.M)
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    assert documents["Deployment"]["spec"]["replicas"] >= 2


def test_probes_grace_period_and_resources(documents, pod):
    (container,) = pod["containers"]
    settings = documents["ConfigMap"]["data"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    drain, deadline = float(settings["BACKPAIN_CDS_DRAIN_SECONDS"]), float(settings["BACKPAIN_CDS_FHIR_DEADLINE"])
    # drain, then gunicorn's graceful stop (calls in flight: up to the deadline + 5 s), inside the grace period
    assert pod["terminationGracePeriodSeconds"] > drain + deadline + 5
    assert {"requests", "limits"} <= container["resources"].keys()


def test_settings_are_ones_the_service_accepts_and_secrets_stay_secret(documents, pod, tmp_path):
    (container,) = pod["containers"]
    env = dict(documents["ConfigMap"]["data"])
    (database,) = [e for e in container["env"] if e["name"] == "BACKPAIN_CDS_DATABASE_URL"]
    assert database["valueFrom"]["secretKeyRef"] == {"name": "backpain-cds-database", "key": "url"}
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"https://ehr.example.org": {"jwks_url": "https://ehr.example.org/jwks"}}))
    env |= {"BACKPAIN_CDS_DATABASE_URL": "postgresql+psycopg://u@db/cds", "BACKPAIN_CDS_JWT_JWKS": str(jwks)}
    Settings.from_env(env)  # raises ConfigError naming any unknown or invalid setting
    (volume,) = [v for v in pod["volumes"] if v["name"] == "jwt"]
    assert volume["secret"]["secretName"] == "backpain-cds-jwt"
    mounted = next(m for m in container["volumeMounts"] if m["name"] == "jwt")["mountPath"]
    assert documents["ConfigMap"]["data"]["BACKPAIN_CDS_JWT_JWKS"].startswith(mounted + "/")


def test_service_budget_autoscaler_and_policy_select_the_pods(documents):
    labels = documents["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert documents["Service"]["spec"]["selector"].items() <= labels.items()
    assert documents["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert documents["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    target = documents["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", documents["Deployment"]["metadata"]["name"])
    assert documents["HorizontalPodAutoscaler"]["spec"]["metrics"][0]["resource"]["name"] == "cpu"


def test_egress_is_dns_postgresql_and_https_only(documents):
    policy = documents["NetworkPolicy"]["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    ports = sorted({(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]})
    assert ports == [(53, "TCP"), (53, "UDP"), (443, "TCP"), (5432, "TCP")]
