"""`edgeseg tune`: the fastest artifact for this machine within an mIoU budget, chosen by measurement.

candidates.py says what is worth trying here, build.py makes it (export pipeline, OpenVINO IR,
NNCF), measure.py times it and scores it through the runtime that will run it, choose.py picks,
record.py writes the tables, the plot and the pick.
"""

from edgeseg.tune.options import TuneOptions, tune_options
from edgeseg.tune.search import TuneResult, tune

__all__ = ["TuneOptions", "TuneResult", "tune", "tune_options"]
