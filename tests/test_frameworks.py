"""SPEC §15 through the agent frameworks' own code (issue 18): each framework's check script
(tests/frameworks/*_check.py) runs in that framework's own virtual environment — their `mcp` pins
differ from ours — against our server over stdio, streamable HTTP and SSE, and reports what its
conversion rejected or bent and what its scripted agent run did not read.

The environments come from `bash .ci/frameworks.sh` into $MCP_DIRECTORY_FRAMEWORKS (default .ci/fw);
without them the checks are skipped on a developer's machine and fail under CI=true.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "tests" / "frameworks"
FRAMEWORKS = sorted(p.stem.removeprefix("requirements-") for p in CHECKS.glob("requirements-*.txt"))


def framework_python(name: str) -> Path:
    root = Path(os.environ.get("MCP_DIRECTORY_FRAMEWORKS") or ROOT / ".ci" / "fw")
    python = root / name / "bin" / "python"
    if not python.exists():
        reason = f"no virtual environment for {name}: run `bash .ci/frameworks.sh`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
        pytest.skip(reason)
    return python


def test_every_framework_has_a_check() -> None:
    assert FRAMEWORKS, "no tests/frameworks/requirements-*.txt"
    for name in FRAMEWORKS:
        assert (CHECKS / f"{name.replace('-', '_')}_check.py").exists(), name


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_framework(name: str) -> None:
    python = framework_python(name)
    script = CHECKS / f"{name.replace('-', '_')}_check.py"
    done = subprocess.run(
        [str(python), str(script), "--server-python", sys.executable],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.stdout.strip(), f"{name} printed no report; stderr:\n{done.stderr[-3000:]}"
    report = json.loads(done.stdout)
    problems = {check: found for check, found in report.items() if found}
    assert not problems, json.dumps(problems, indent=1)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(report) >= 3, report  # stdio, streamable HTTP and SSE were each checked
