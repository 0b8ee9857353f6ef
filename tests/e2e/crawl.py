"""Walks a running Themeboard by following its own links, so that a new page is checked (and
photographed) without anyone listing it: the accessibility test and tools/screenshots.py share it."""
from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit, urlunsplit

# Pages no link on a page reaches for a visitor (they sit behind forms or the admin's menus).
KNOWN_PAGES = ("/", "/admin", "/soundboard/admin", "/soundboard/admin/milestones", "/settings", "/login", "/register")
# Media, files and APIs: not pages. Matched against the path.
NOT_PAGES = re.compile(r"^/(api|sounds|media|static|ws)(/|$)|/(stream|download|export|cover|file)(/|$)|\.[a-z0-9]{2,4}$")
# Route words are lower case letters; ids, public ids, slugs and basenames have a digit, a capital or "_".
_ID_LIKE = re.compile(r"[0-9A-Z%_.]")

LINKS = "Array.from(document.querySelectorAll('a[href]:not([download])'), a => a.href)"


def pattern(url: str) -> str:
    """A page's kind: ids and names in the path and the query's values don't make another kind."""
    parts = urlsplit(url)
    segments = ["*" if _ID_LIKE.search(segment) and index else segment for index, segment in enumerate(parts.path.split("/"))]
    keys = sorted({pair.split("=")[0] for pair in parts.query.split("&") if pair})
    return "/".join(segments) + ("?" + "&".join(keys) if keys else "")


def crawl(page, base: str, extra: tuple[str, ...] = KNOWN_PAGES, limit: int = 60) -> Iterator[str]:
    """Opens each page reachable from ``extra`` by same-origin links (one per kind of page, at most
    ``limit``) and yields its URL once it has loaded, for the caller to check while it is open."""
    origin = urlsplit(base).netloc
    queue = [urljoin(base, path) for path in extra]
    seen_kinds: set[str] = set()
    visited = 0
    while queue and visited < limit:
        url = urlunsplit(urlsplit(queue.pop(0))._replace(fragment=""))
        parts = urlsplit(url)
        if parts.netloc != origin or NOT_PAGES.search(parts.path) or pattern(url) in seen_kinds:
            continue
        seen_kinds.add(pattern(url))
        response = page.goto(url)
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        if urlsplit(page.url).path != parts.path and pattern(page.url) in seen_kinds:
            continue  # redirected to a page already seen (a login wall, say)
        seen_kinds.add(pattern(page.url))
        visited += 1
        yield page.url
        queue.extend(page.evaluate(LINKS))
