"""One export stage as a small object: a key, a preflight, a build, a verify, and the files it owns.

Constructing a stage reads nothing; `preflight` (run for every stage before the first runs)
reads what the stage will need and refuses what cannot work. `run_stage` treats every stage alike. A stage whose files on disk are complete (primary,
sidecar, every companion with the hash its sidecar records) and keyed the same (parent hash +
options + edgeseg version) is reused. Otherwise it is built, verified from a scratch file
against its parent's outputs, checked by the stage's extra `checks`, and published as a set:
every file written under a temporary name, the old primary removed, companions and sidecar
renamed into place, the primary last. A reader that sees the primary sees its whole set; a run
killed half-way leaves a set that the next run finds incomplete and rebuilds. What `checks`
finds lands in the sidecar's `verification.checks` and the summary.

Every artifact kind runs here: the export's (deploy model, ONNX, engine) and `tune`'s OpenVINO IRs
(export/openvino_ir.py: an `.xml` whose `.bin` is an owned companion). Metadata is written and read
back as the one schema (`ArtifactMetadata`, through `artifacts.read_artifact`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import edgeseg
from edgeseg.artifacts import read_artifact, sha256_file, sidecar_path
from edgeseg.errors import EdgesegError
from edgeseg.export import parity
from edgeseg.metadata import ArtifactMetadata
from edgeseg.workdir import new_temp

log = logging.getLogger(__name__)


@dataclass
class StageResult:
    name: str
    path: Path | None
    nodes: int | None = None
    size_bytes: int | None = None
    check: parity.Parity | None = None
    reused: bool = False
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"stage": self.name, "path": str(self.path) if self.path else None, "nodes": self.nodes,
                "size_bytes": self.size_bytes, "verification": self.check.to_dict() if self.check else None,
                "reused": self.reused, "seconds": round(self.seconds, 3), **self.extra}


@dataclass
class Built:
    """A stage's candidate before verification: an in-memory ONNX model or a file already written."""

    model: object = None
    file: Path | None = None
    companions: dict = field(default_factory=dict)  # suffix -> str | bytes, published with the artifact
    scratch: list = field(default_factory=list)  # more files `file` brought along (an IR's .bin), removed after
    extra: dict = field(default_factory=dict)  # facts for the summary (and the sidecar's `extra`)


class Lazy:
    """A stage's outputs on the verification inputs, computed only when a child needs them."""

    def __init__(self, fn, value=None):
        self._fn, self._value = fn, value

    def __call__(self):
        if self._value is None:
            self._value = self._fn()
        return self._value


class Stage:
    """Base class. Subclasses set name/tolerance/precision and implement options, build, verify, publish."""

    name = "stage"
    tolerance = "fp32"  # parity tolerance class against the parent (export/parity.py TOLERANCES)
    precision = "fp32"
    uint8 = False  # verified on uint8 images (preprocessing in the graph)
    companions: tuple[str, ...] = ()  # suffixes (after the primary's name) of the data files `Built` carries

    def __init__(self, path: Path, parent: "Stage | None" = None):
        self.path, self.parent = Path(path), parent

    # -- what a stage defines --------------------------------------------------------------
    def preflight(self, ctx) -> None:
        """Read what the stage will need and refuse what cannot work, before any stage runs."""

    def options(self, ctx) -> dict:
        """What determines the output, besides the parent's bytes (the reuse key)."""
        return {}

    def build(self, ctx) -> Built:
        raise NotImplementedError

    def verify(self, ctx, candidate: Path, parent_outputs) -> tuple[dict, parity.Parity | None, dict]:
        """(outputs per size, check against the parent, extra checks) for a candidate file."""
        raise NotImplementedError

    def publish(self, ctx, built: Built, candidate: Path, record: dict, files: "StagedSet") -> ArtifactMetadata:
        """Write the primary (and any file it brings, an IR's .bin) into `files`; return its metadata
        (the runner adds the hashes and writes the sidecar)."""
        raise NotImplementedError

    def checks(self, ctx, candidate: Path) -> dict:
        """Extra checks of a verified candidate ({name: finding}); raise EdgesegError to fail the stage."""
        return {}

    def outputs(self, ctx, path: Path) -> dict:
        """The artifact's outputs per verified size (parents' reference for the next stage)."""
        raise NotImplementedError

    def describe(self, path: Path, meta: ArtifactMetadata) -> dict:
        """nodes / size for the summary."""
        return {"nodes": None, "size_bytes": path.stat().st_size}

    def restored(self, meta: ArtifactMetadata) -> dict:
        """Summary facts of a reused artifact (what `Built.extra` held when it was built)."""
        return dict(meta.extra or {})

    # -- shared ----------------------------------------------------------------------------
    def parent_record(self, ctx) -> dict:
        if self.parent is None:
            return {"path": str(ctx.ckpt_path), "sha256": ctx.ckpt_sha}
        return {"path": str(self.parent.path), "sha256": sha256_file(self.parent.path)}

    def key(self, ctx) -> str:
        """The reuse key: the checkpoint's bytes and every stage's options down to this one, and
        edgeseg's version. Chained through the parents' keys, not their files' bytes (which carry
        paths and times), so it names what the file is built from, whatever it is called."""
        parent = ctx.ckpt_sha if self.parent is None else self.parent.key(ctx)
        blob = json.dumps({"parent": parent, "options": self.options(ctx), "edgeseg": edgeseg.__version__},
                          sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def owned(self) -> list[Path]:
        """The files beside `path` that belong to its set, besides the sidecar (hashed in its `files`)."""
        return [self.path.with_name(self.path.name + s) for s in self.companions]

    def files(self) -> list[Path]:
        return [self.path, sidecar_path(self.path), *self.owned()]


class StagedSet:
    """Files written under temporary names, renamed into place together, the primary last."""

    def __init__(self, primary: Path):
        self.primary = Path(primary)
        self.temps: dict[Path, Path] = {}

    def temp(self, final: Path) -> Path:
        final = Path(final)
        if final not in self.temps:
            self.temps[final] = new_temp(final.parent, f".{final.name}", ".tmp")
        return self.temps[final]

    def write(self, final: Path, data: str | bytes) -> None:
        tmp = self.temp(final)
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)

    def commit(self) -> None:
        if self.primary not in self.temps:
            raise RuntimeError(f"staged set for {self.primary} has no primary")
        with contextlib.suppress(FileNotFoundError):  # no reader may pair the old primary with new files
            self.primary.unlink()
        for final, tmp in self.temps.items():
            if final != self.primary:
                os.replace(tmp, final)
        os.replace(self.temps[self.primary], self.primary)
        self.temps.clear()

    def discard(self) -> None:
        for tmp in self.temps.values():
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self.temps.clear()


def complete(stage: Stage, key: str) -> ArtifactMetadata | None:
    """The metadata of a complete, up-to-date set on disk, or None (then the stage is rebuilt).
    Read as every reader reads it (artifacts.read_artifact): a sidecar that does not describe its
    file, or an IR whose .xml does not bind its .bin, is not a set to reuse."""
    if not stage.path.is_file() or not sidecar_path(stage.path).is_file():
        return None
    try:
        meta = read_artifact(stage.path)
    except EdgesegError:
        return None
    if meta.provenance.get("stage_key") != key or meta.sha256 != sha256_file(stage.path):
        return None
    owned = meta.files or {}
    if not {p.name for p in stage.owned()} <= set(owned):
        return None
    for name, sha in owned.items():
        p = stage.path.with_name(name)
        if not p.is_file() or sha256_file(p) != sha:
            return None
    return meta


def run_stage(ctx, stage: Stage, parent_outputs: Lazy) -> tuple[StageResult, Lazy]:
    """Reuse or build-verify-publish one stage; returns its result and its (lazy) outputs."""
    t0 = time.perf_counter()
    key = stage.key(ctx)
    meta = complete(stage, key)
    if meta is not None:
        log.info("%s: up to date, reusing %s", stage.name, stage.path.name)
        result = _result(stage, meta, time.perf_counter() - t0, True, stage.restored(meta))
        return result, Lazy(lambda: stage.outputs(ctx, stage.path))
    log.info("%s: building %s", stage.name, stage.path.name)
    built = stage.build(ctx)
    with contextlib.ExitStack() as stack:
        candidate = built.file
        if candidate is None:
            import onnx

            candidate = new_temp(stage.path.parent, ".scratch", ".onnx")
            onnx.save(built.model, str(candidate))
        for scratch in (candidate, sidecar_path(candidate), *built.scratch):
            stack.callback(_unlink, scratch)
        outputs, check, checks = stage.verify(ctx, candidate, parent_outputs)
        if check is not None:
            parity.require_ok(check, stage.name)
        checks.update(stage.checks(ctx, candidate))
        files = StagedSet(stage.path)
        stack.callback(files.discard)
        record = {"key": key, "parent": stage.parent_record(ctx), "extra": built.extra,
                  "verification": {**(check.to_dict() if check else {}), **({"checks": checks} if checks else {})}}
        meta = stage.publish(ctx, built, candidate, record, files)
        for suffix, data in built.companions.items():
            files.write(stage.path.with_name(stage.path.name + suffix), data)
        meta = meta.with_(sha256=sha256_file(files.temp(stage.path)),
                          files={final.name: sha256_file(tmp) for final, tmp in files.temps.items()
                                 if final != stage.path})
        files.write(sidecar_path(stage.path), json.dumps(meta.to_dict(), indent=2) + "\n")
        files.commit()
    result = _result(stage, meta, time.perf_counter() - t0, False, dict(built.extra), check)
    if checks:
        result.extra["checks"] = checks
    return result, Lazy(lambda: stage.outputs(ctx, stage.path), outputs)


def _result(stage: Stage, meta: ArtifactMetadata, seconds: float, reused: bool, extra: dict,
            check=None) -> StageResult:
    v = meta.verification or {}
    if check is None and "agreement" in v:
        check = parity.Parity(v.get("max_abs"), v.get("mean_abs"), v["agreement"], v.get("max_abs_allowed"),
                              v["min_agreement"])
    if reused and v.get("checks"):
        extra["checks"] = v["checks"]
    d = stage.describe(stage.path, meta)
    return StageResult(stage.name, stage.path, d["nodes"], d["size_bytes"], check, reused, seconds, extra)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
