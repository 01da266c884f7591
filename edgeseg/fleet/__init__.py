"""Past one machine: device targets on a Ray cluster, fleet benchmarks and sharded evaluation.

Ray is optional (`pip install 'edgeseg[fleet]'`) and imported only inside the functions that
talk to a cluster, so nothing here slows `edgeseg --help` or the runtime side.
"""
