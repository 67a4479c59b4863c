"""Send xAPI statements to a learning record store (xAPI 1.0.3 REST), and read them back.

``send_statements`` POSTs the statements to ``{url}/statements`` in batches, with the
``X-Experience-API-Version: 1.0.3`` header and HTTP basic authentication
(``user:password``, which the command line takes from the ``QUESTENGINE_LRS_AUTH``
environment variable, never from its arguments). A batch that meets a server error
(5xx, 429) or a broken connection is sent again after a growing pause. The
statements' ids are stable (see :mod:`.xapi`), so sending a class again stores
nothing twice: the LRS answers that it has them already. A batch the LRS refuses
with 409 Conflict (a statement it holds under one of the ids differs) is sent
again one statement at a time (PUT), so that the others are still stored; the
conflicting ones are counted and named.

Only the standard library is used (``urllib``).
"""
from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from . import InteropError

__all__ = ["LRSError", "SendReport", "send_statements", "query_statements", "statements_url",
           "AUTH_ENV", "XAPI_VERSION"]

AUTH_ENV = "QUESTENGINE_LRS_AUTH"
XAPI_VERSION = "1.0.3"
_RETRY_STATUS = {429, 500, 502, 503, 504}


class LRSError(InteropError):
    """The learning record store could not be reached or refused the statements."""


@dataclass
class SendReport:
    """What a send did: statements sent, newly stored, already there, in conflict."""

    sent: int = 0
    stored: int = 0
    already: int = 0
    conflicts: list[str] = field(default_factory=list)  # ids the LRS holds with other content
    batches: int = 0
    retries: int = 0

    def __str__(self) -> str:
        text = (f"sent {self.sent} statement(s) in {self.batches} batch(es): {self.stored} "
                f"stored, {self.already} already in the record store")
        if self.conflicts:
            text += (f", {len(self.conflicts)} refused because the store holds a different "
                     f"statement under the same id (first: {self.conflicts[0]})")
        if self.retries:
            text += f"; {self.retries} retr{'y' if self.retries == 1 else 'ies'} after errors"
        return text


def statements_url(url: str) -> str:
    """The statements resource of an LRS endpoint (``.../xAPI/`` or ``.../statements``).

    >>> statements_url("http://127.0.0.1:8100/xAPI/")
    'http://127.0.0.1:8100/xAPI/statements'
    >>> statements_url("https://lrs.example/xapi/statements?x=1")
    'https://lrs.example/xapi/statements'
    """
    parts = urllib.parse.urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LRSError(f"the LRS address must be a web address such as "
                       f"https://lrs.example/xAPI/, got {url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith("/statements"):
        path += "/statements"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _headers(auth: str | None) -> dict[str, str]:
    headers = {"X-Experience-API-Version": XAPI_VERSION, "Content-Type": "application/json",
               "Accept": "application/json"}
    if auth:
        if ":" not in auth:
            raise LRSError(f"the LRS credentials must be written user:password (in {AUTH_ENV})")
        headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    return headers


class _Opener:
    """urllib with retries on server errors and broken connections."""

    def __init__(self, auth: str | None, retries: int, backoff: float, timeout: float,
                 sleep: Callable[[float], None]):
        self.headers = _headers(auth)
        self.retries, self.backoff, self.timeout, self.sleep = retries, backoff, timeout, sleep
        self.retried = 0

    def request(self, method: str, url: str, body: Any = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body, ensure_ascii=False,
                                                    separators=(",", ":")).encode("utf-8")
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.retried += 1
                self.sleep(self.backoff * 2 ** (attempt - 1))
            req = urllib.request.Request(url, data=data, method=method, headers=self.headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as err:
                text = err.read()[:300].decode("utf-8", "replace")
                if err.code in _RETRY_STATUS:
                    last = f"HTTP {err.code} {text}".strip()
                    continue
                return err.code, text.encode()
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as err:
                last = str(getattr(err, "reason", err))
                continue
        raise LRSError(f"the learning record store at {url} did not take the statements after "
                       f"{self.retries + 1} tries ({last}); check that it is running and try "
                       "again (statements already stored are not stored twice)")


def _refusal(status: int, text: bytes, url: str) -> LRSError:
    detail = text.decode("utf-8", "replace")[:200]
    if status in (401, 403):
        return LRSError(f"the learning record store at {url} refused the credentials "
                        f"(HTTP {status}); set {AUTH_ENV}=user:password")
    return LRSError(f"the learning record store at {url} refused the statements "
                    f"(HTTP {status}): {detail}")


def send_statements(statements: Iterable[dict], url: str, *, auth: str | None = None,
                    batch_size: int = 100, retries: int = 4, backoff: float = 0.5,
                    timeout: float = 30.0,
                    sleep: Callable[[float], None] = time.sleep) -> SendReport:
    """POST statements to an LRS in batches; see the module's description."""
    if not 1 <= batch_size <= 10_000:
        raise LRSError(f"the batch size must be between 1 and 10000, got {batch_size}")
    endpoint = statements_url(url)
    opener = _Opener(auth, retries, backoff, timeout, sleep)
    report = SendReport()
    batch: list[dict] = []

    def flush() -> None:
        if not batch:
            return
        report.batches += 1
        report.sent += len(batch)
        status, text = opener.request("POST", endpoint, batch)
        if status == 200:
            stored = json.loads(text or b"[]")
            report.stored += len(stored)
            report.already += len(batch) - len(stored)
        elif status == 204:
            report.already += len(batch)
        elif status == 409:
            for st in batch:
                put = f"{endpoint}?{urllib.parse.urlencode({'statementId': st['id']})}"
                one, body = opener.request("PUT", put, st)
                if one == 204:
                    report.stored += 1  # or already there, identical: the LRS does not say
                elif one == 409:
                    report.conflicts.append(st["id"])
                else:
                    raise _refusal(one, body, endpoint)
        else:
            raise _refusal(status, text, endpoint)
        batch.clear()

    for st in statements:
        batch.append(st)
        if len(batch) >= batch_size:
            flush()
    flush()
    report.retries = opener.retried
    return report


def query_statements(url: str, *, auth: str | None = None, retries: int = 4,
                     backoff: float = 0.5, timeout: float = 30.0, **params: Any) -> Iterator[dict]:
    """Every statement the LRS returns for a query (GET), following its ``more`` links."""
    endpoint = statements_url(url)
    opener = _Opener(auth, retries, backoff, timeout, time.sleep)
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    next_url = endpoint + (f"?{query}" if query else "")
    while next_url:
        status, text = opener.request("GET", next_url)
        if status != 200:
            raise _refusal(status, text, endpoint)
        page = json.loads(text)
        yield from page.get("statements", [])
        more = page.get("more")
        next_url = urllib.parse.urljoin(endpoint, more) if more else ""
