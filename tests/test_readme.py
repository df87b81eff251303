"""The README's example request works as documented (it broke once when discovery gained two templates)."""
import json
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_hook_example_returns_cards(client):
    text = README.read_text()
    payload = re.search(r"backpain-patient-view \\\n.*?-d '(\{.*?\})'", text, re.S).group(1)
    response = client.post("/cds-services/backpain-patient-view", json=json.loads(payload))
    assert response.status_code == 200, response.get_json()
    assert {c["source"]["topic"]["code"] for c in response.get_json()["cards"]} >= {"nsaid-first-line"}


def test_every_setting_is_in_the_readme_table_and_no_other():
    from dataclasses import fields

    from cds_service.config import PREFIX, Settings

    documented = set(re.findall(r"^\| `(BACKPAIN_CDS_[A-Z_]+)` \|", README.read_text(), re.M))
    assert documented == {PREFIX + f.name.upper() for f in fields(Settings)}
