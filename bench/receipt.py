"""CPU time of a receipt PDF's fonts: a two-page document in the receipt's writer with the reduced
DejaVu Sans (what every receipt uses) against the same document with the whole font (what receipts
used before 2026-12-05), interleaved rounds, process CPU time per document.

    python bench/receipt.py [--documents 30] [--rounds 3]

Needs DejaVu Sans (Debian package fonts-dejavu-core). Prints one line per round and mode and the
medians; the figures are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bizportal import create_app  # noqa: E402
from bizportal.filings import receipts  # noqa: E402

TEXT = ("Gewerbeanmeldung der Becker Elektrotechnik GmbH, Am Wall 120, 28195 Bremen: Elektroinstallation "
        "in Gebäuden; Verkauf von Leuchten. Geschäftsführerin Anna Becker, geboren am 17.05.1980 in Łódź. ")


def _document(fonts: receipts._Fonts) -> None:
    from fpdf import FPDF

    original = receipts._fonts
    receipts._fonts = lambda: fonts  # type: ignore[assignment]
    try:
        pdf = FPDF(format="A4")
        writer = receipts._Writer(pdf)
        pdf.add_page()
        for n in range(40):
            writer.pair(f"Angabe {n}", TEXT)
        writer.line("Prüfsumme", style="B")
        bytes(pdf.output())
    finally:
        receipts._fonts = original  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        reduced = receipts._fonts()
        if reduced is None or reduced.covered is None:
            sys.exit("bench/receipt.py: DejaVu Sans is not installed or could not be reduced")
        whole = dataclasses.replace(reduced, reduced_regular=reduced.regular, reduced_bold=reduced.bold, covered=None)
        _document(reduced)  # fpdf2 imported, fonts in the page cache
        results: dict[str, list[float]] = {"reduced": [], "whole": []}
        for round_ in range(1, args.rounds + 1):
            for mode, fonts in (("reduced", reduced), ("whole", whole)):
                start = time.process_time()
                for _ in range(args.documents):
                    _document(fonts)
                per_document = (time.process_time() - start) / args.documents * 1000
                results[mode].append(per_document)
                print(f"round {round_}: {mode:7} {per_document:6.1f} ms CPU per document")
        for mode, values in results.items():
            print(f"median {mode:7} {statistics.median(values):6.1f} ms CPU per document")


if __name__ == "__main__":
    main()
