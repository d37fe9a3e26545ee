"""`python -m tests.mutations --count 500 --seed 1 [--report results.json]`

Runs a reproducible set of mutations of the real provincial files through the CLI (see
runner.py), prints the counts per class x outcome (a Markdown table, as in RELIABILITY.md) and
every silent_change, rejected_elsewhere and crash with its description and message.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from .generate import CLASSES, generate, stratified
from .runner import FAILURES, OUTCOMES, Harness, Result


def table(results: list[Result]) -> str:
    counts = Counter((r.mutation.cls, r.outcome) for r in results)
    header = ["class", *OUTCOMES, "total"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    classes = [c for c in CLASSES if any(r.mutation.cls == c for r in results)]
    for cls in [*classes, "all"]:
        row = [sum(counts[(c, o)] for c in (classes if cls == "all" else [cls]))
               for o in OUTCOMES]
        lines.append(f"| {cls} | " + " | ".join(str(n) for n in row) + f" | {sum(row)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutations", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=500, help="mutations in all (default 500)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-class", type=int,
                        help="instead of --count: this many of each class (the CI sample)")
    parser.add_argument("--classes", help="comma-separated subset of: " + ", ".join(CLASSES))
    parser.add_argument("--report", help="write every result as JSON here")
    parser.add_argument("--data-docs", action="store_true",
                        help="render GX Data Docs in each run (slower; decides nothing here)")
    parser.add_argument("--list", action="store_true", help="only list the mutations")
    args = parser.parse_args(argv)

    classes = tuple(args.classes.split(",")) if args.classes else CLASSES
    unknown = set(classes) - set(CLASSES)
    if unknown:
        parser.error(f"unknown class(es): {', '.join(sorted(unknown))}")
    mutations = (stratified(args.per_class, args.seed, classes) if args.per_class
                 else generate(args.count, args.seed, classes))
    if args.list:
        for m in mutations:
            print(m.describe())
        return 0

    started = time.perf_counter()
    results: list[Result] = []
    with Harness(data_docs=args.data_docs) as harness:
        print(f"baseline: {len(harness.baseline)} verdict rows in "
              f"{harness.baseline_seconds:.1f} s; {len(mutations)} mutation(s)", flush=True)
        for n, m in enumerate(mutations, start=1):
            result = harness.run(m)
            results.append(result)
            print(f"[{n}/{len(mutations)}] {result.outcome:<21} {result.seconds:5.1f} s  "
                  f"{m.describe()[:150]}", flush=True)
            if args.report and (n % 25 == 0 or n == len(mutations)):
                _write_report(Path(args.report), args, results, harness, started)
    elapsed = time.perf_counter() - started
    per = sum(r.seconds for r in results) / max(len(results), 1)

    print()
    print(table(results))
    print(f"\n{len(results)} mutation(s), seed {args.seed}: {per:.2f} s per mutation "
          f"(baseline {harness.baseline_seconds:.1f} s, {elapsed:.0f} s in all)")
    for outcome in FAILURES:
        failing = [r for r in results if r.outcome == outcome]
        if failing:
            print(f"\n{outcome} ({len(failing)}):")
            for r in failing:
                warned = " (a warning named the cell)" if r.warned else ""
                print(f"- {r.mutation.describe()}{warned}\n    exit {r.exit_code}: {r.message}")
    return 1 if any(r.outcome in FAILURES for r in results) else 0


def _write_report(path: Path, args: argparse.Namespace, results: list[Result],
                  harness: Harness, started: float) -> None:
    counts: dict[str, dict[str, int]] = {}
    for r in results:
        counts.setdefault(r.mutation.cls, dict.fromkeys(OUTCOMES, 0))[r.outcome] += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "count": args.count, "seed": args.seed, "per_class": args.per_class,
        "done": len(results),
        "seconds_per_mutation": round(sum(r.seconds for r in results) / max(len(results), 1), 2),
        "baseline_seconds": round(harness.baseline_seconds, 2),
        "elapsed_seconds": round(time.perf_counter() - started, 1),
        "counts": counts,
        "results": [r.as_dict() for r in results],
    }, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
