"""Rule tests start from an empty order-template cache, so each one reads the ActivityDefinitions it suggests from
(a template read once by an earlier test, or at collection, would hide how this test's orders are built)."""

import pytest

from cds_service.rules import _orders


@pytest.fixture(autouse=True)
def fresh_order_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_orders, "_PARTS", {})
