"""The plan as JSON and text."""

from __future__ import annotations

import json

from test_plan import DIAMOND, installed

from lock_build.plan import make_plan
from lock_build.plan_output import plan_json, plan_text


def test_json_and_text_rendering() -> None:
    plan = make_plan(DIAMOND, installed(stale="1"))
    data = json.loads(plan_json(plan))
    assert [s["stage"] for s in data["stages"]] == [
        "fetch",
        "build",
        "build",
        "build",
        "install",
        "remove",
    ]
    assert data["stages"][-1]["packages"] == [{"name": "stale", "version": "1"}]
    assert data["stages"][3]["builds"][0]["pins"][0] == {
        "name": "cython",
        "version": "3.0.0",
        "wheel": None,
        "sha256": None,
        "built": True,
    }
    text = plan_text(plan)
    assert "build stage 2 (1 build(s)" in text and "cython==3.0.0 [built]" in text
    assert "remove 1 package(s)" in text
