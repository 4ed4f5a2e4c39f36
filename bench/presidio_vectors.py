"""Extract presidio-analyzer's own recognizer test vectors into tests/data/presidio/vectors.json.

    python -m bench.presidio_vectors PRESIDIO_CHECKOUT [COMMIT]

The installed presidio-analyzer wheel (and its sdist) carries no tests, so the vectors are read once,
mechanically, from a checkout of github.com/microsoft/presidio (MIT licence): the first
`pytest.mark.parametrize` table of each of the five recognizer test files below, every row kept.
Nothing is chosen by hand and nothing is downloaded when the bench or the tests run: they read the
JSON file this script wrote.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

FILES = {
    "IBAN_CODE": "test_iban_recognizer.py",
    "CREDIT_CARD": "test_credit_card_recognizer.py",
    "US_SSN": "test_us_ssn_recognizer.py",
    "EMAIL_ADDRESS": "test_email_recognizer.py",
    "PHONE_NUMBER": "test_phone_recognizer.py",
}
OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "presidio" / "vectors.json"


def _first_table(source: str) -> tuple[list[str], list[Any]]:
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "parametrize"
            and len(node.args) >= 2
        ):
            names = [n.strip() for n in ast.literal_eval(node.args[0]).split(",")]
            return names, ast.literal_eval(node.args[1])
    raise ValueError("no parametrize table")


def extract(tests: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for entity, name in FILES.items():
        names, rows = _first_table((tests / name).read_text(encoding="utf-8"))
        for row in rows:
            fields = dict(zip(names, row, strict=True))
            text = fields.get("text", fields.get("iban"))
            spans = fields.get("expected_res", fields.get("expected_positions", ()))
            scores = fields.get("expected_score_ranges")
            out.append(
                {
                    "entity": entity,
                    "file": name,
                    "text": text,
                    "spans": [list(s) for s in spans],
                    # presidio's own "weak" SSN rows: found by it only below any usable threshold
                    "weak": bool(scores) and all(hi != "max" and hi <= 0.4 for _, hi in scores),
                }
            )
    return out


def main() -> None:
    checkout = Path(sys.argv[1])
    commit = sys.argv[2] if len(sys.argv) > 2 else ""
    tests = checkout / "presidio-analyzer" / "tests" if (checkout / "presidio-analyzer").is_dir() else checkout
    vectors = extract(tests)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "source": "https://github.com/microsoft/presidio presidio-analyzer/tests",
        "commit": commit,
        "licence": "MIT (Copyright (c) Presidio Contributors)",
        "vectors": vectors,
    }
    OUT.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(vectors)} vectors → {OUT}")


if __name__ == "__main__":
    main()
