"""Print what a newcomer can open once ``make run`` serves (``python -m app.urls``)."""
from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="http://127.0.0.1:8050")
    base = parser.parse_args().base.rstrip("/")
    print()
    print("Dataviz is starting. Open:")
    print(f"  {base}/            the live snapshot")
    print(f"  {base}/readyz      readiness (which snapshot is loaded)")
    print("Stop with Ctrl-C.")
    print()


if __name__ == "__main__":
    main()
