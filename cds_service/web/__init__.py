"""The HTTP edge: the blueprint, request reading, client auth (JWT, JWKS, replay check), the preview page and its
static files, OpenAPI and the process lifecycle. The only folder that imports Flask."""
