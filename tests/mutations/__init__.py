"""Mutation harness (issue 18, step 8): plausible mistakes made to the real NBS provincial files,
each run through the CLI and classified against a baseline run of the unmutated files.

- `generate`: the mutation classes, `generate(count, seed)` and `write_landing(mutation, dir)`.
- `runner`: `Harness` (one baseline, then each mutation in a fresh temp warehouse, in-process)
  and the outcome classes.
- `python -m tests.mutations --count 500 --seed 1 [--report path.json]`: the full set.
"""
