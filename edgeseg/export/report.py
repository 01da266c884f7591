"""The export summary table: stage, nodes, size, max |Δ|, argmax agreement against the parent."""

from __future__ import annotations


def _size(n: int | None) -> str:
    return "-" if n is None else f"{n / 1e6:.1f} MB"


def print_summary(result, console, gpu: bool = True) -> None:
    """Text from files and tools (names, install hints like `pip install 'edgeseg[tensorrt]'`) is
    printed as it is: never read as Rich markup, which would eat anything in square brackets.
    Facts without a value are left out, and so is the TensorRT parse check when the target is not
    a GPU (`gpu` False: `--device cpu`); the sidecars keep every one."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="export (each stage verified against its parent)")
    for col in ("stage", "artifact", "nodes", "size", "max |Δ|", "mean |Δ|", "argmax agree", "status"):
        # a long name folds onto a second line rather than lose its end ("….onnx") in 100 columns
        table.add_column(col, justify="right" if col not in ("stage", "artifact", "status") else "left",
                         overflow="fold" if col == "artifact" else None)
    for s in result.stages:
        c = s.check
        status = "reused" if s.reused else ("ok" if c is None or c.ok else "FAILED")
        table.add_row(
            s.name, escape(s.path.name) if s.path else "(in memory)", "-" if s.nodes is None else str(s.nodes),
            _size(s.size_bytes),
            "-" if c is None or c.max_abs is None else f"{c.max_abs:.2e}",
            "-" if c is None or c.mean_abs is None else f"{c.mean_abs:.2e}",
            "-" if c is None else f"{c.agreement:.4%}", status)
    console.print(table)
    for s in result.stages:
        for k, v in s.extra.items():
            if k == "checks":  # one line per extra check (a TensorRT parse, a skipped verification)
                for name, found in v.items():
                    if name == "tensorrt_parse" and not gpu:
                        continue
                    text = found.get("summary", found) if isinstance(found, dict) else found
                    console.print(f"  {s.name}: {name}: {text}", markup=False, highlight=False, soft_wrap=True)
            elif k != "params" and v is not None:
                console.print(f"  {s.name}: {k} = {v}", markup=False, highlight=False, soft_wrap=True)


def print_export(result, console, gpu: bool = True) -> None:
    """The summary, and the nvinfer config when the export wrote one."""
    print_summary(result, console, gpu)
    if result.deepstream:
        console.print(f"DeepStream nvinfer config: {result.deepstream}", markup=False, highlight=False)
