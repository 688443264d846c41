"""Write the API's OpenAPI document (what `/api/openapi.json` serves) without starting a server.

    python scripts/openapi.py                          # the JSON on stdout
    python scripts/openapi.py frontend/openapi.json    # into a file (rewritten only when it changed)
    python scripts/openapi.py --check frontend/openapi.json   # exit 1 when the file is out of date

`make frontend` runs the second form before `npm run build`, whose `openapi-typescript` step turns the file
into the web UI's types (frontend/lib/openapi.d.ts). The file is committed because the nginx image builds the
UI with Node alone (docker/nginx.Dockerfile).

The gateway app is built on a throwaway data folder with embedded backends: nothing is connected to, and
MOSAIC_* variables pointing at servers do not matter, since only the routes shape the document.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.app import api_document, create_gateway  # noqa: E402
from mosaic.settings import load_settings  # noqa: E402


def document() -> dict:
    with tempfile.TemporaryDirectory(prefix="mosaic-openapi-") as folder:
        settings = load_settings(data_dir=Path(folder) / "data", catalog_url="", objects_url="", queue_url="",
                                 vectors_url="http://127.0.0.1:9/unused", ingest_samples=False)
        return api_document(create_gateway(settings))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", nargs="?", type=Path, help="file to write (default: stdout)")
    parser.add_argument("--check", action="store_true", help="only compare with OUTPUT; exit 1 when it differs")
    args = parser.parse_args()
    text = json.dumps(document(), indent=2, ensure_ascii=False) + "\n"
    if args.output is None:
        if args.check:
            parser.error("--check needs the file to compare with")
        sys.stdout.write(text)
        return 0
    current = args.output.read_text(encoding="utf-8") if args.output.is_file() else None
    if args.check:
        if current != text:
            print(f"{args.output} is out of date: run `python scripts/openapi.py {args.output}`", file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
