"""Link checking: does each source address still answer?

Every distinct address is asked once (several records may cite it), by a bounded pool of
threads, each request with a timeout, retried with a growing pause when the failure may pass
(no answer, a timeout, a 5xx, a 429). Redirections are not followed: a 301 is recorded as such,
since it tells staff that the address moved. The result is written on every source with that
address, without history (a web page's state is no fact of the cooperation).
"""

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.client import HTTPException
from socket import timeout as SocketTimeout

from django.utils import timezone

from .models import Source

USER_AGENT = "catalogue-cooperations-verification-des-liens/1.0"
RETRIED_STATUSES = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Check:
    url: str
    status: int | None  # None: no answer
    error: str = ""  # in French, when no answer came
    attempts: int = 1

    @property
    def reachable(self) -> bool:
        return self.status is not None and self.status < 400


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 3xx reaches the caller as an HTTPError with its code


_opener = urllib.request.build_opener(_NoRedirect)


def fetch_status(url: str, timeout: float) -> tuple[int | None, str]:
    """One GET (HEAD is refused by too many servers), reading at most 1 KB of the body."""
    if not url.lower().startswith(("http://", "https://")):
        return None, "adresse non web"
    # The scheme is checked just above: never file: or a custom one.
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(1024)
            return response.status, ""
    except urllib.error.HTTPError as error:
        error.close()
        return error.code, ""
    except TimeoutError:
        return None, "délai dépassé"
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, TimeoutError | SocketTimeout):
            return None, "délai dépassé"
        return None, f"connexion impossible ({reason})"[:200]
    except (HTTPException, OSError, ValueError) as error:
        return None, f"réponse illisible ({type(error).__name__})"


def check_url(
    url: str, timeout: float, retries: int, pause: float, fetch: Callable = fetch_status
) -> Check:
    """The address's status after at most `retries` more attempts for failures that may pass."""
    attempt = 0
    while True:
        attempt += 1
        status, error = fetch(url, timeout)
        if attempt > retries or not (status is None or status in RETRIED_STATUSES):
            return Check(url, status, error, attempt)
        time.sleep(pause * attempt)


def check_sources(
    queryset=None,
    *,
    timeout: float = 10,
    concurrency: int = 8,
    retries: int = 2,
    pause: float = 1,
    dry_run: bool = False,
) -> list[Check]:
    """Check the distinct addresses of the sources (all of them by default) and record what was
    found on each source unless `dry_run`. One query to read, one UPDATE per address."""
    queryset = Source.objects.all() if queryset is None else queryset
    urls = sorted(set(queryset.values_list("url", flat=True)))
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        checks = list(pool.map(lambda url: check_url(url, timeout, retries, pause), urls))
    if not dry_run:
        now = timezone.now()
        for check in checks:
            queryset.filter(url=check.url).update(
                last_status=check.status, last_error=check.error, last_checked_at=now
            )
    return checks
