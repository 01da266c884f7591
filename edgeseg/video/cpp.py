"""The same video run by edgeseg-cpp (cpp/): its summary, in `run_video`'s schema, for tables that
put the C++ program's end-to-end figures beside Python's (`edgeseg bench --source --cpp`,
benchmarks/cpp_video.py)."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

from edgeseg.errors import EdgesegError


RUNTIME = "OpenVINO C++"  # how tables name edgeseg-cpp's figures


def check_program(program) -> Path:
    """The edgeseg-cpp program at `program`, or one line saying there is none to run."""
    program = Path(program)
    if not (program.is_file() and os.access(program, os.X_OK)):
        raise EdgesegError(f"{program}: no edgeseg-cpp program there; build it as cpp/README.md says")
    return program


def run_cpp(program, artifact, source, *, threads: int | None = None, model_seconds: float = 2.0,
            video_out=None, timeout_s: float = 3600.0) -> dict:
    """`edgeseg-cpp run ARTIFACT SOURCE` and its summary (the fields of `edgeseg run --json`); the
    program's own one-line refusal becomes the error."""
    program = check_program(program)
    with tempfile.TemporaryDirectory(prefix="edgeseg-cpp-") as tmp:
        summary = Path(tmp) / "summary.json"
        cmd = [str(program), "run", str(artifact), str(source), "--model-seconds", str(model_seconds),
               "--json", str(summary)]
        cmd += ["--threads", str(threads)] if threads else []
        cmd += ["-o", str(video_out)] if video_out else []
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise EdgesegError(f"edgeseg-cpp did not finish {source} within {timeout_s:g} s") from None
        if proc.returncode:
            last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
            raise EdgesegError(last.removeprefix("edgeseg-cpp: "))
        return json.loads(summary.read_text())
