"""Which URLs we may send an EHR's token to: matched by URL structure (scheme, host, port, path), never by prefix.

`https://fhir.example.org` must not admit `https://fhir.example.org.evil.test/`, `https://fhir.example.org@evil.test/`
or a port that does not parse. A URL is first reduced to a `BaseUrl`; anything odd in it (userinfo, a backslash,
white space, dot segments, `;` or an encoded `/`, `\\`, `.` or `%` in the path, a bad port) refuses it outright rather
than guessing what a client library, or the server behind the base, would make of it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")  # control characters, white space, backslash
_DOT_SEGMENT = re.compile(r"(^|/)(\.|%2e){1,2}(/|$)", re.IGNORECASE)
# What a server behind the base may read as a separator or a dot segment even though the URL's own structure has
# none: `;` (Tomcat, Jetty and HAPI read `..;` as `..`), an encoded `/` or `\` (nginx, IIS decode them before
# routing), any encoded dot, and `%25` (double encoding: `%252F` is `%2F` after one decoding).
_PATH_TRICK = re.compile(r";|%2f|%5c|%2e|%25", re.IGNORECASE)


class BadUrl(ValueError):
    """The URL cannot be trusted as written; the message says why, without echoing it."""


@dataclass(frozen=True)
class BaseUrl:
    scheme: str
    host: str
    port: int
    path: str  # no trailing slash: "" for the root, "/fhir" for a base below it

    @classmethod
    def parse(cls, url: str) -> BaseUrl:
        """Reduce an absolute http(s) URL to its parts; raise BadUrl for anything we refuse to interpret."""
        if _UNSAFE.search(url):
            raise BadUrl("contains white space, a control character or a backslash")
        try:
            parts = urlsplit(url)
        except ValueError:  # "Invalid IPv6 URL", an IPv4 address in brackets
            raise BadUrl("cannot be split into scheme, host and path") from None
        if parts.scheme not in DEFAULT_PORTS:
            raise BadUrl("is not an http(s) URL")
        if "@" in parts.netloc:
            raise BadUrl("carries user information (user@host)")
        if not parts.hostname:
            raise BadUrl("has no host")
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise BadUrl("has an invalid port") from None
        if _DOT_SEGMENT.search(parts.path):
            raise BadUrl("has '.' or '..' path segments")
        if _PATH_TRICK.search(parts.path):
            raise BadUrl("has ';', an encoded '/', '\\' or '.', or a double-encoded character in its path")
        return cls(parts.scheme, parts.hostname.lower(), port, parts.path.rstrip("/"))

    def contains(self, other: BaseUrl) -> bool:
        """True when `other` is this URL or below it at a `/` boundary, on the same scheme, host and port."""
        return (other.scheme, other.host, other.port) == (self.scheme, self.host, self.port) and (
            other.path == self.path or other.path.startswith(self.path + "/")
        )

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def __str__(self) -> str:
        default = DEFAULT_PORTS[self.scheme] == self.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}{'' if default else f':{self.port}'}{self.path}"


@dataclass(frozen=True)
class Allowlist:
    """The configured bases (BACKPAIN_CDS_FHIR_SERVER_ALLOWLIST); `match` admits a URL at or below one of them."""

    bases: tuple[BaseUrl, ...]

    @classmethod
    def parse(cls, entries: tuple[str, ...]) -> Allowlist:
        """Raise BadUrl naming the first entry that is not a plain http(s) base URL."""
        bases = []
        for entry in entries:
            try:
                base = BaseUrl.parse(entry)
            except BadUrl as exc:
                raise BadUrl(f"{entry!r} {exc}") from None
            if urlsplit(entry).query or urlsplit(entry).fragment:
                raise BadUrl(f"{entry!r} has a query or fragment")
            bases.append(base)
        return cls(tuple(bases))

    def match(self, url: str) -> BaseUrl | None:
        """The URL's parts when an allowlisted base contains it, else None (also for URLs we refuse to parse)."""
        try:
            candidate = BaseUrl.parse(url)
        except BadUrl:
            return None
        return candidate if any(base.contains(candidate) for base in self.bases) else None
