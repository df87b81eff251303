"""backpain-cds: a CDS Hooks 2.0 service for low back pain care. `create_app` is the Flask app factory."""
from __future__ import annotations

import logging

from flask import Flask

from . import database, logs
from .config import Settings
from .feedback import FeedbackStore
from .lifecycle import Lifecycle
from .pipeline import Runtime

__all__ = ["Settings", "create_app"]


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app: read settings (env when not given), load knowledge, open the shared database."""
    settings = settings or Settings.from_env()
    logs.configure(settings.log_level, settings.log_format)
    app = Flask(__name__)  # no MAX_CONTENT_LENGTH: web._body applies BACKPAIN_CDS_MAX_BODY_BYTES, chunked or not
    app.extensions["backpain_cds"] = Runtime.create(settings)
    engine = database.connect(settings.database_url)
    app.extensions["backpain_cds_feedback"] = FeedbackStore(engine)
    app.extensions["backpain_cds_lifecycle"] = Lifecycle()
    if settings.jwt_jwks:
        from .auth import ClientAuth
        from .replay import ReplayCache

        app.extensions["backpain_cds_auth"] = ClientAuth(settings.jwt_jwks, ReplayCache(engine))
    else:
        logging.getLogger(__name__).warning("demo mode: client JWTs are not checked (set BACKPAIN_CDS_JWT_JWKS)")
    from . import web

    web.register(app)
    return app
