"""Split a labelled CSV into a training and a held-out part, the same way every time.

python -m bench.split banking77-train-steps.csv --holdout 2000 --out-dir /tmp/split
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("labelled", type=Path)
    parser.add_argument("--holdout", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args()
    with args.labelled.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        rows = list(reader)
    random.Random(args.seed).shuffle(rows)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, part in (("test.csv", rows[: args.holdout]), ("train.csv", rows[args.holdout :])):
        with (args.out_dir / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(part)
    print(f"{len(rows) - args.holdout} training rows, {args.holdout} held out, in {args.out_dir}")


if __name__ == "__main__":
    main()
