"""The shape the docs' table scripts share: summarize run dirs into a JSON committed under docs/ (--json),
or reload that JSON (--from-json) to print the tables and redraw the figures without the runs."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Callable


def add_arguments(ap: argparse.ArgumentParser, source: str) -> None:
    ap.add_argument(source, type=Path, nargs="?")
    ap.add_argument("--json", type=Path, help="write the summary here")
    ap.add_argument("--from-json", type=Path, help="read a written summary instead of the runs")


def load_or_write(args: argparse.Namespace, summarize: Callable[[], dict]) -> dict:
    if args.from_json:
        return json.loads(args.from_json.read_text())
    if args.json is None:
        raise SystemExit("give --json PATH (where the summary goes) or --from-json PATH")
    s = summarize()
    args.json.write_text(json.dumps(s, indent=1) + "\n")
    return s
