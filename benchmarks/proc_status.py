"""Memory of a process from /proc/<pid>/status (Linux), for the benchmarks' RSS columns."""

from __future__ import annotations

from pathlib import Path


def rss_mib(field: str = "VmRSS", pid: int | str = "self") -> float | None:
    """`field` (VmRSS: now, VmHWM: peak) of process `pid` in MiB; None where /proc has none."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None
