"""backpain-cds: a CDS Hooks 2.0 service for low back pain care. `create_app` is the Flask app factory."""
from __future__ import annotations

import logging

from flask import Flask

from .config import Settings
from .feedback import FeedbackStore
from .pipeline import Runtime

__all__ = ["Settings", "create_app"]


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app: read settings (env when not given), load knowledge, open the feedback database."""
    settings = settings or Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["backpain_cds"] = Runtime.create(settings)
    app.extensions["backpain_cds_feedback"] = FeedbackStore(settings.database_url)
    if settings.jwt_jwks:
        from .auth import ClientAuth

        app.extensions["backpain_cds_auth"] = ClientAuth(settings.jwt_jwks)
    else:
        logging.getLogger(__name__).warning("demo mode: client JWTs are not checked (set BACKPAIN_CDS_JWT_JWKS)")
    from . import web

    web.register(app)
    return app
