"""TensorRT engines: version-aware building, the sidecar that says where an engine may run, DLA reports.

Nothing here imports tensorrt at module level; the pure parts (versions, shapes, sidecars,
log parsing) work and are tested without a GPU.
"""
