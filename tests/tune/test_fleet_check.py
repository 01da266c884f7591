"""`fleet tune --check`: each recorded target's verdict from recorded rows (no Ray needed), and a
record that cannot be checked refused in one line before the cluster is reached."""

import json

import pytest

from edgeseg.errors import OptionError
from edgeseg.tune.fleet import check_rows, read_fleet_record

ROWS = [{"target": "cpu@a", "profile": "cpu", "host": "a", "status": "ok", "report": {"chosen": {"name": "x"}}},
        {"target": "cpu@b", "profile": "cpu", "host": "b", "status": "ok", "report": {"chosen": {"name": "y"}}},
        {"target": "cpu@c", "profile": "cpu", "host": "c", "status": "ok", "report": {"chosen": {"name": "z"}}},
        {"target": "orin@d", "profile": "jetson-orin", "host": "d", "status": "failed: no candidates"},
        {"target": "cpu@e", "profile": "cpu", "host": "e", "status": "ok", "report": {"chosen": {"name": "w"}}}]


def test_one_verdict_per_recorded_target():
    live = {"cpu@a": 1, "cpu@b": 1, "cpu@c": 1, "orin@d": 1}
    results = {"cpu@a": (True, {"ok": True, "reason": "x: still the pick", "rows": [], "load": None}),
               "cpu@b": (True, {"ok": False, "reason": "y: pipeline latency regressed 10 -> 13 ms", "rows": [],
                                "load": None}),
               "cpu@c": (False, "artifact gone; run tune again")}
    got = {v["target"]: (v["ok"], v["reason"]) for v in check_rows(ROWS, live, results)}
    assert got == {"cpu@a": (True, "x: still the pick"),
                   "cpu@b": (False, "y: pipeline latency regressed 10 -> 13 ms"),
                   "cpu@c": (False, "cannot check: artifact gone; run tune again"),
                   "orin@d": (True, "not checked: no pick recorded (failed: no candidates)"),
                   "cpu@e": (False, "not in the fleet now")}


@pytest.mark.parametrize("text,words", [("{", "not a fleet tune report"), ('{"targets": [{}]}', "targets' rows"),
                                        ("[1]", "targets' rows")])
def test_a_record_that_is_not_a_fleet_report_is_refused(tmp_path, text, words):
    path = tmp_path / "fleet.json"
    path.write_text(text)
    with pytest.raises(OptionError, match=words) as caught:
        read_fleet_record(path)
    assert caught.value.fields == ["check"]
    assert len(read_fleet_record(_write(tmp_path / "ok.json", ROWS))) == len(ROWS)


def _write(path, rows):
    path.write_text(json.dumps({"title": "t", "targets": rows}))
    return path


def test_the_cli_refuses_a_bad_record_in_one_line_before_the_cluster(tmp_path, capsys):
    from edgeseg.cli.main import main

    path = tmp_path / "fleet.json"
    path.write_text("{")
    assert main(["fleet", "tune", "--ray", "127.0.0.1:1", "--check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "--check" in err and "not a fleet tune report" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert main(["fleet", "tune", "--ray", "127.0.0.1:1", "--check", str(path), "--tolerance", "nan"]) == 1
    assert "--tolerance must be a fraction" in capsys.readouterr().err
