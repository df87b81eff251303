"""The README's examples work as written (the hook example broke once when discovery gained two templates)."""

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.served import Served, executable

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_hook_example_returns_cards(client):
    payload = (README.parent / "examples" / "patient-view.json").read_text()
    assert "--data-binary @examples/patient-view.json" in README.read_text()
    response = client.post("/cds-services/backpain-patient-view", json=json.loads(payload))
    assert response.status_code == 200, response.get_json()
    assert {c["source"]["topic"]["code"] for c in response.get_json()["cards"]} >= {"nsaid-first-line"}


def test_every_setting_is_in_the_readme_table_and_no_other():
    from dataclasses import fields

    from cds_service.config import FROM_FILE, PREFIX, Settings

    documented = set(re.findall(r"^\| `(BACKPAIN_CDS_[A-Z_]+)` \|", README.read_text(), re.M))
    files = {f"{PREFIX}{name.upper()}_FILE" for name in FROM_FILE}
    assert documented == {PREFIX + f.name.upper() for f in fields(Settings)} | files


def shell_examples() -> list[str]:
    """The README's indented code blocks that call the service or the CLI, in order, as written."""
    blocks, current = [], []
    for line in [*README.read_text().splitlines(), ""]:
        if line.startswith("    ") and line.strip():
            current.append(line[4:])
        elif current and line.strip():
            current = []  # an indented line inside a list item, not a code block
        elif current:
            blocks.append("\n".join(current))
            current = []
    wanted = ("http://127.0.0.1:8080/cds-services", ".venv/bin/backpain-cds evaluate", ".venv/bin/backpain-cds feed")
    commands = []
    for block in blocks:  # a block of one-line commands is several examples
        lines = block.splitlines()
        commands += lines if all(line.startswith(".venv/bin/") for line in lines) else [block]
    return [command for command in commands if any(w in command for w in wanted)]


@pytest.mark.slow
def test_readme_shell_examples_run_as_written_against_a_live_service(tmp_path):
    """curl and CLI examples, run by bash from the repository folder with only the address and the installed command
    swapped in. The feedback example once stored a literal "<card uuid>", reported under an "unknown" topic."""
    examples = shell_examples()
    assert len(examples) == 6, examples  # discovery, hook call, feedback, evaluate (file, stdin), feedback-report
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKPAIN_CDS_")}
    env |= {"BACKPAIN_CDS_DATA_DIR": str(tmp_path), "BACKPAIN_CDS_AS_OF": "2026-11-27"}
    outputs = []
    with Served(tmp_path, workers=1) as served:
        for block in examples:
            script = block.replace("http://127.0.0.1:8080", served.base).replace(".venv/bin/backpain-cds", executable())
            if "feedback-report" in block:
                time.sleep(1.5)  # the card log is written off the request path (every 0.5 s)
            run = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                cwd=README.parent,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert run.returncode == 0 and run.stdout, (block, run.stdout, run.stderr)
            outputs.append(run.stdout)
    discovery, call, feedback, evaluated, from_stdin, report = outputs
    assert len(json.loads(discovery)["services"]) == 3
    assert "nsaid-first-line" in {c["source"]["topic"]["code"] for c in json.loads(call)["cards"]}
    assert json.loads(feedback) == {}
    assert json.loads(evaluated)["cards"] and json.loads(from_stdin)["cards"]
    assert "unknown" not in report and "overridden" in report.lower(), report


def test_every_file_the_readme_names_as_an_example_is_in_the_repository():
    named = set(re.findall(r"\b(examples/[\w./-]+\.json)\b", README.read_text()))
    assert named and all((README.parent / name).is_file() for name in named), named
