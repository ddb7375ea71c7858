"""Mint an embed or analyst token: ``python -m app.tokens --tenant acme --filters group=Sales``.

What the LMS does for each page view, for trying the API and the embedded
dashboards by hand. Embed tokens are signed with ``DATAVIZ_EMBED_SECRET``;
``--analyst`` signs an all-tenant token with ``DATAVIZ_ANALYST_SECRET``.
"""
from __future__ import annotations

import argparse
import os
import sys

from app.auth import ALL, FILTER_DIMENSIONS, LOCALES, MAX_TOKEN_LIFETIME, THEMES, mint_token
from app.config import signing_secret


def _filter(text: str) -> tuple[str, str]:
    dim, sep, value = text.partition("=")
    if not sep or dim not in FILTER_DIMENSIONS or not value:
        raise argparse.ArgumentTypeError(f"expected DIMENSION=VALUE with a dimension among "
                                         f"{', '.join(FILTER_DIMENSIONS)}, got {text!r}")
    return dim, value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m app.tokens", description=__doc__.splitlines()[0])
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--tenant", help="the tenant the embed token is for")
    who.add_argument("--analyst", action="store_true", help="an all-tenant analyst token (DATAVIZ_ANALYST_SECRET)")
    p.add_argument("--filters", type=_filter, action="append", default=[], metavar="DIM=VALUE",
                   help="a locked filter value; repeat for several (group=Sales --filters group=HR)")
    p.add_argument("--locale", choices=LOCALES, default="en")
    p.add_argument("--theme", choices=THEMES, default="light")
    p.add_argument("--learners", action="store_true",
                   help="let the token see learner lists (a manager's); without it, learner routes answer 403")
    p.add_argument("--ttl", type=int, default=3600, help=f"lifetime in seconds (at most {MAX_TOKEN_LIFETIME})")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    variable = "DATAVIZ_ANALYST_SECRET" if args.analyst else "DATAVIZ_EMBED_SECRET"
    secret = signing_secret(os.environ.get(variable))
    if not secret:
        print(f"{variable} is not set: it must be the server's secret", file=sys.stderr)
        return 2
    if not 0 < args.ttl <= MAX_TOKEN_LIFETIME:
        print(f"--ttl must be between 1 and {MAX_TOKEN_LIFETIME} seconds", file=sys.stderr)
        return 2
    filters: dict[str, list[str]] = {}
    for dim, value in args.filters:
        filters.setdefault(dim, []).append(value)
    print(mint_token(secret, ALL if args.analyst else args.tenant, filters=filters, locale=args.locale,
                     theme=args.theme, ttl_seconds=args.ttl, learners=args.learners))
    return 0


if __name__ == "__main__":
    sys.exit(main())
