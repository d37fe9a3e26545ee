"""Import a module file in a fresh interpreter and report which heavy modules it pulled in, so
parse-time cost (DAG processor, API server, task start-up) stays low."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def heavy_imports(module_file: Path, heavy: list[str]) -> subprocess.CompletedProcess:
    """Exit code 1 (and the list on stdout) when importing `module_file` loads any of `heavy`."""
    probe = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('probe_module', {str(module_file)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        f"heavy = [m for m in {heavy!r} if m in sys.modules]\n"
        "print('heavy modules imported:', heavy)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=os.environ.copy()
    )
