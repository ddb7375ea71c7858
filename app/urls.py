"""Print what a newcomer can open once ``make run`` serves (``python -m app.urls``)."""
from __future__ import annotations

import argparse
import os

from app.auth import mint_token
from app.config import signing_secret

ANALYST_TTL = 8 * 3600


def explore_line(base: str, env=os.environ) -> str:
    """An /explore link with a fresh analyst token, or how to get one."""
    secret = signing_secret(env.get("DATAVIZ_ANALYST_SECRET"))
    if not secret:
        return (f"  {base}/explore?token=...  explore every tenant: set DATAVIZ_ANALYST_SECRET, "
                "then mint a token with\n"
                "      .venv/bin/python -c \"from app.auth import mint_token; "
                "print(mint_token('<analyst secret>', '*'))\"\n"
                "      (or open explore for one tenant from the demo page)")
    return f"  {base}/explore?token={mint_token(secret, '*', ttl_seconds=ANALYST_TTL)}\n" \
           "      explore every tenant (analyst token, valid 8 hours)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="http://127.0.0.1:8050")
    base = parser.parse_args().base.rstrip("/")
    print()
    print("Dataviz is starting. Open:")
    print(f"  {base}/demo        a demo LMS page embedding the overview (pick a tenant, lock a group)")
    print(explore_line(base))
    print(f"  {base}/            the live snapshot")
    print(f"  {base}/readyz      readiness (which snapshot is loaded)")
    print("Stop with Ctrl-C.")
    print()


if __name__ == "__main__":
    main()
