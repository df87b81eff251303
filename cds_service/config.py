"""`Settings`: frozen, read once from `BACKPAIN_CDS_*` environment variables and validated at start-up."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .fhir.allowlist import Allowlist, BadUrl, BaseUrl

if TYPE_CHECKING:
    from .policy import CardPolicy

PREFIX = "BACKPAIN_CDS_"
POLICY_SECRET_MIN_BYTES = 32
# Settings that may instead be read from a file (a mounted Secret): BACKPAIN_CDS_<NAME>_FILE holds its path.
FROM_FILE = ("database_url",)


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "backpain-cds"


def _csv(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _bool(text: str) -> bool:
    if text.lower() in {"1", "true", "yes", "on"}:
        return True
    if text.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true or false")


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError("must be a number of 0 or more")
    return value


def _positive(kind: type[int] | type[float]):
    def parse(text: str) -> int | float:
        value = kind(text)
        if not (math.isfinite(value) and value > 0):
            raise ValueError("must be a number greater than 0")
        return value

    return parse


@dataclass(frozen=True)
class Settings:
    """Every setting of the service; `from_env` documents each environment variable by its field name."""

    data_dir: Path = field(default_factory=_default_data_dir)
    database_url: str = ""  # default: SQLite file in data_dir
    database_timeout: float = 3.0  # connect, each statement, pool wait, a connection held: a hung database is a 503
    fhir_server_allowlist: tuple[str, ...] = ()
    fhir_allow_http: bool = False
    fhir_connect_timeout: float = 1.5
    fhir_read_timeout: float = 3.0
    fhir_deadline: float = 4.0
    fhir_max_pages: int = 20
    fhir_max_resources: int = 20_000
    fhir_max_bytes: int = 50 * 1024 * 1024  # all FHIR responses of one hook call together
    cors_origins: tuple[str, ...] = ("*",)
    as_of: date | None = None
    max_body_bytes: int = 10 * 1024 * 1024
    max_json_values: int = 500_000  # in one body, and in all FHIR responses of one call: memory per call is bounded
    feedback_max_items: int = 100
    feedback_max_item_bytes: int = 4096  # one feedback item as JSON: its override comment is what may be long
    workers: int = field(default_factory=lambda: os.cpu_count() or 2)
    threads: int = 8  # hook calls a worker serves at once: a call waiting on a FHIR server must not hold the worker
    drain_seconds: float = 5.0  # after SIGTERM: /readyz says 503 and calls are still served, then a graceful stop
    log_level: str = "INFO"
    log_format: str = "text"
    # issuer -> {"keys": [...]} or {"jwks_url": "https://..."}; None: demo mode, no client JWT check
    jwt_jwks: dict[str, dict[str, Any]] | None = None
    public_base_url: str = ""  # the base URL clients call; the JWT `aud` is it plus the path
    preview: bool | None = None  # the card preview page at /; default: on in demo mode, off with client JWTs
    card_policy: CardPolicy | None = None  # the CDS committee's TOML file, read and checked; None: the defaults
    policy_secret_file: Path | None = None  # HMAC key of the card policy's memory; None: one made in data_dir
    metrics_port: int | None = None  # /metrics on its own port (and off the public one) under `serve`

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir / 'backpain-cds.sqlite3'}")
        if self.fhir_deadline < self.fhir_connect_timeout:
            raise ConfigError("BACKPAIN_CDS_FHIR_DEADLINE must not be shorter than BACKPAIN_CDS_FHIR_CONNECT_TIMEOUT")
        try:
            Allowlist.parse(self.fhir_server_allowlist)
        except BadUrl as exc:
            raise ConfigError(f"BACKPAIN_CDS_FHIR_SERVER_ALLOWLIST: {exc}") from None
        if self.public_base_url:
            try:
                BaseUrl.parse(self.public_base_url)
            except BadUrl as exc:
                raise ConfigError(f"BACKPAIN_CDS_PUBLIC_BASE_URL {exc}") from None
        if self.jwt_jwks is not None and not self.public_base_url:
            raise ConfigError(
                "BACKPAIN_CDS_PUBLIC_BASE_URL is required when BACKPAIN_CDS_JWT_JWKS is set: the JWT "
                "audience is that URL plus the path called, never taken from the request's Host header"
            )
        if self.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError("BACKPAIN_CDS_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        if self.log_format not in {"text", "json"}:
            raise ConfigError("BACKPAIN_CDS_LOG_FORMAT must be text or json")

    @property
    def serves_preview(self) -> bool:
        """BACKPAIN_CDS_PREVIEW when set; else on in demo mode and off once client JWTs are required."""
        return self.jwt_jwks is None if self.preview is None else self.preview

    @property
    def database_setting(self) -> str:
        """The setting that chose the database, for start-up errors (never the URL: it may hold a password)."""
        if self.database_url == f"sqlite:///{self.data_dir / 'backpain-cds.sqlite3'}":
            return f"{PREFIX}DATA_DIR={self.data_dir}"
        return f"{PREFIX}DATABASE_URL"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read `BACKPAIN_CDS_<FIELD>` for every field (or `<FIELD>_FILE`, a file holding it, for FROM_FILE);
        raise ConfigError naming any bad or unknown variable."""
        environ = dict(os.environ if environ is None else environ)
        known = {f.name.upper(): f.name for f in fields(cls)}
        files = {f"{name.upper()}_FILE": name for name in FROM_FILE}
        unknown = sorted(k for k in environ if k.startswith(PREFIX) and k[len(PREFIX) :] not in known | files)
        if unknown:
            raise ConfigError(
                f"unknown setting(s): {', '.join(unknown)}", known=sorted(PREFIX + k for k in known | files)
            )
        for file_setting, name in files.items():
            if (path := environ.pop(PREFIX + file_setting, None)) is not None:
                environ[PREFIX + name.upper()] = _read_setting_file(
                    PREFIX + file_setting, PREFIX + name.upper(), path, environ
                )
        values: dict[str, object] = {}
        for env_name, name in known.items():
            raw = environ.get(PREFIX + env_name)
            if raw is None:
                continue
            try:
                values[name] = _PARSERS[name](raw.strip())
            except ValueError as exc:
                raise ConfigError(f"{PREFIX}{env_name}={raw!r} is invalid: {exc}") from None
        return cls(**values)  # type: ignore[arg-type]


def _read_setting_file(setting: str, plain: str, path: str, environ: Mapping[str, str]) -> str:
    if plain in environ:
        raise ConfigError(f"set {plain} or {setting}, not both")
    try:
        return Path(path.strip()).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{setting}={path!r}: cannot read the file ({getattr(exc, 'strerror', None) or exc})"
        ) from None


def _jwks_file(path: str) -> dict[str, dict[str, Any]]:
    """Read the trusted issuers: {"<iss>": {"keys": [JWK, ...]} and/or {"jwks_url": "https://..."}, ...}.

    Pinned keys must be asymmetric (EC or RSA) with a kid; a JWKS URL must be https (http on loopback, for tests).
    With both, pinned keys are used first and the URL serves the kids not pinned (and names the accepted `jku`).
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read a JSON file there ({exc})") from None
    if not isinstance(data, dict) or not data:
        raise ValueError('expected {"<issuer>": {"keys": [...]} or {"jwks_url": "https://..."}, ...}')
    for issuer, entry in data.items():
        if not isinstance(entry, dict) or not ({"keys", "jwks_url"} & entry.keys()):
            raise ValueError(f'issuer {issuer!r} needs "keys", "jwks_url" or both')
        if "jwks_url" in entry:
            _check_jwks_url(issuer, entry["jwks_url"])
        if "keys" not in entry:
            continue
        keys = entry["keys"]
        if not isinstance(keys, list) or not keys:
            raise ValueError(f"issuer {issuer!r} has no keys")
        for key in keys:
            if not isinstance(key, dict) or key.get("kty") not in ("EC", "RSA") or not key.get("kid"):
                raise ValueError(f"issuer {issuer!r}: every key must be EC or RSA (no shared secrets) with a kid")
    return data


def _check_jwks_url(issuer: str, url: Any) -> None:
    try:
        base = BaseUrl.parse(url if isinstance(url, str) else "")
    except BadUrl as exc:
        raise ValueError(f"issuer {issuer!r}: jwks_url {exc}") from None
    if base.scheme != "https" and not base.is_loopback:
        raise ValueError(f"issuer {issuer!r}: jwks_url must be https (plain http only on loopback, for tests)")


def _card_policy(path: str) -> CardPolicy:
    from .policy import PolicyError, load

    try:
        return load(path)
    except PolicyError as exc:
        raise ValueError(str(exc)) from None


def _secret_file(path: str) -> Path:
    try:
        size = len(Path(path).read_bytes().strip())
    except OSError as exc:
        raise ValueError(f"cannot read it ({exc.strerror})") from None
    if size < POLICY_SECRET_MIN_BYTES:
        raise ValueError(f"the secret must be at least {POLICY_SECRET_MIN_BYTES} bytes (e.g. openssl rand -hex 32)")
    return Path(path)


def _port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise ValueError("must be a TCP port, 1 to 65535")
    return value


_PARSERS = {
    "data_dir": Path,
    "database_url": str,
    "database_timeout": _positive(float),
    "fhir_server_allowlist": _csv,
    "fhir_allow_http": _bool,
    "fhir_connect_timeout": _positive(float),
    "fhir_read_timeout": _positive(float),
    "fhir_deadline": _positive(float),
    "fhir_max_pages": _positive(int),
    "fhir_max_resources": _positive(int),
    "fhir_max_bytes": _positive(int),
    "cors_origins": _csv,
    "as_of": date.fromisoformat,
    "max_body_bytes": _positive(int),
    "max_json_values": _positive(int),
    "feedback_max_items": _positive(int),
    "feedback_max_item_bytes": _positive(int),
    "workers": _positive(int),
    "threads": _positive(int),
    "drain_seconds": _non_negative_float,
    "log_level": str.upper,
    "log_format": str.lower,
    "jwt_jwks": _jwks_file,
    "public_base_url": str,
    "preview": _bool,
    "card_policy": _card_policy,
    "policy_secret_file": _secret_file,
    "metrics_port": _port,
}
