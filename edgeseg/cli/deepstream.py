"""`edgeseg deepstream ARTIFACT`: the DeepStream nvinfer config for an exported ONNX model or engine."""

from __future__ import annotations

from typing import Optional

import typer

from edgeseg.cli.common import Size, console, names_fields, parse_size


@names_fields  # parameters named as nvinfer_config's keywords: its errors name these flags
def deepstream_cmd(
    artifact: str = typer.Argument(..., help="ONNX model or engine from `edgeseg export` / `edgeseg build` (its metadata is read)"),
    out: Optional[str] = typer.Option(None, "-o", "--out", help="config file to write (default: ARTIFACT.nvinfer.txt beside it)"),
    input_size: Optional[Size] = typer.Option(None, parser=parse_size, metavar="HxW", help="HxW for infer-dims when the "
                                              "model is dynamic (default: its contract's / dataset's)"),
    batch_size: Optional[int] = typer.Option(None, help="nvinfer batch-size for a dynamic-batch model (default 1)"),
    threshold: Optional[float] = typer.Option(None, help="segmentation-threshold (default 0): pixels whose best score is not above it are unlabeled"),
    tensor_meta: bool = typer.Option(False, help="also attach the raw logits as tensor meta (output-tensor-meta=1)"),
    gie_unique_id: Optional[int] = typer.Option(None, help="gie-unique-id of this nvinfer in the pipeline (default 1)"),
):
    """Write the nvinfer config whose preprocessing keys reproduce the artifact's contract exactly.

    The last line on stdout is the config path. Run it with the gst-launch-1.0 line in the README.
    """
    from edgeseg.export.deepstream import write_nvinfer_config

    given = {"input_size": input_size, "batch_size": batch_size, "threshold": threshold, "tensor_meta": tensor_meta,
             "gie_unique_id": gie_unique_id}
    path = write_nvinfer_config(artifact, out, **{k: v for k, v in given.items() if v is not None})
    console(stderr=True).print(f"[dim]nvinfer config for {artifact}[/dim]")
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    app.command("deepstream")(deepstream_cmd)
