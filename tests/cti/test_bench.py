from __future__ import annotations

from bench import cti_decode


def test_bench_quick_run_reports_every_figure() -> None:
    rows = cti_decode.run(quick=True)
    figures = {figure: (value, unit) for figure, value, unit in rows}
    assert figures["AMI decode (codec: framing, validation), events"][0] > 0
    assert any(f.startswith("panoramisk") for f in figures)
    assert figures["memory per 10,000 live calls, AMI mapper (2 legs each)"][1] == "MiB"
    assert all(value >= 0 for value, _ in figures.values())
