"""backpain-cds: a CDS Hooks 2.0 service for low back pain care. `create_app` is the Flask app factory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import Settings
from .errors import ConfigError

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["Settings", "__version__", "create_app"]
__version__ = "0.1.0"  # the one version source: hatch puts it in the package metadata, which --version and
# /openapi.json read (importlib.metadata: importing this package from them would be an import cycle)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app: read settings (env when not given), load knowledge, open the shared database.

    Everything is imported here, not at the top: `serve` must set PROMETHEUS_MULTIPROC_DIR before the metrics module
    (and prometheus_client) is first imported, and importing this package must not do it.
    """
    from dataclasses import replace

    from flask import Flask

    from . import logs
    from .pipeline import Runtime
    from .policy import CardPolicy
    from .store import database
    from .store.card_log import CardLog
    from .store.feedback import FeedbackStore
    from .store.policy import PolicyGate, read_secret
    from .web import routes as web
    from .web.lifecycle import Lifecycle

    settings = settings or Settings.from_env()
    logs.configure(settings.log_level, settings.log_format)
    # No app-wide /static route (the preview serves its own files). No MAX_CONTENT_LENGTH: web/body.py applies
    # BACKPAIN_CDS_MAX_BODY_BYTES, chunked or not.
    app = Flask(__name__, static_folder=None)
    runtime = Runtime.create(settings)
    try:
        engine = database.connect(settings.database_url, settings.database_timeout)
    except database.Unusable as exc:
        raise ConfigError(f"{settings.database_setting}: {exc}") from None
    app.extensions["backpain_cds_feedback"] = FeedbackStore(engine)
    app.extensions["backpain_cds_lifecycle"] = Lifecycle()
    card_log = app.extensions["backpain_cds_card_log"] = CardLog(engine)
    gate = PolicyGate(
        engine,
        settings.card_policy or CardPolicy(),
        read_secret(settings.policy_secret_file, settings.data_dir),
        card_log,
    )
    app.extensions["backpain_cds"] = replace(runtime, gate=gate)
    app.extensions["backpain_cds_policy"] = gate
    if settings.jwt_jwks:
        from .store.replay import ReplayCache
        from .web.auth import ClientAuth

        app.extensions["backpain_cds_auth"] = ClientAuth(settings.jwt_jwks, ReplayCache(engine))
    web.register(app)
    return app
