"""A plan rendered for people (text) and for tools (JSON). Pure: strings out.

The shell-script rendering is ``plan_script``; writing files is the command's job.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lock_build.plan import BuildStep, FetchStep, InstallStep, Plan


def plan_json(plan: Plan) -> str:
    """The plan as JSON text (``plan-version`` 1), stable key order."""
    return json.dumps(plan_dict(plan), indent=2, sort_keys=False) + "\n"


def plan_dict(plan: Plan) -> dict[str, Any]:
    stages: list[dict[str, Any]] = [
        {"stage": "fetch", "artifacts": [_fetch_dict(f) for f in plan.fetch]}
    ]
    for i, stage in enumerate(plan.build_stages, 1):
        stages.append({"stage": "build", "index": i, "builds": [_build_dict(b) for b in stage]})
    stages.append({"stage": "install", "packages": [_install_dict(s) for s in plan.install]})
    if plan.against_environment:
        stages.append(
            {
                "stage": "remove",
                "packages": [{"name": r.name, "version": r.version} for r in plan.remove],
            }
        )
    return {"plan-version": 1, "target": dict(plan.target), "stages": stages}


def plan_text(plan: Plan) -> str:
    """The numbered stages, one line per artifact, build and package."""
    lines = [f"Plan for {_describe_target(plan.target)}"]
    lines.append(f"1. fetch and verify {len(plan.fetch)} artifact(s)")
    for f in plan.fetch:
        lines.append(f"     {f.filename}" + ("" if f.sha256 else "  (unhashed)"))
    n = 2
    for i, stage in enumerate(plan.build_stages, 1):
        lines.append(f"{n}. build stage {i} ({len(stage)} build(s), may run in parallel)")
        for step in stage:
            source = step.sdist or f"{step.source_url} (unhashed {step.source_kind})"
            lines.append(f"     {step.key} from {source}")
            pins = ", ".join(
                f"{p.name}=={p.version}" + (" [built]" if p.built else "") for p in step.pins
            )
            lines.append(f"       in a fresh environment with: {pins or '(nothing)'}")
            lines.append(f"       fingerprint {step.fingerprint[:16]}")
        n += 1
    lines.append(f"{n}. install {len(plan.install)} package(s)")
    for s in plan.install:
        what = "built wheel" if s.built else s.wheel
        was = f" (was {s.installed_version})" if s.installed_version else ""
        why = f": {s.reason}" if s.reason else ""
        lines.append(f"     {s.action} {s.name}=={s.version}{was} from {what}{why}")
    if plan.against_environment:
        lines.append(f"{n + 1}. remove {len(plan.remove)} package(s)")
        for r in plan.remove:
            lines.append(f"     {r.name}=={r.version}")
        if plan.unchanged:
            lines.append(f"   ({len(plan.unchanged)} package(s) already match the lock)")
    return "\n".join(lines) + "\n"


def _describe_target(target: Mapping[str, Any]) -> str:
    return (
        f"{target.get('implementation', '?')} "
        f"{target.get('python-full-version') or target.get('python-version', '?')}"
        f" on {target.get('platform', '?')}"
    )


def _fetch_dict(f: FetchStep) -> dict[str, Any]:
    return {
        "name": f.name,
        "version": str(f.version),
        "kind": f.kind,
        "filename": f.filename,
        "url": f.url,
        "sha256": f.sha256,
    }


def _build_dict(b: BuildStep) -> dict[str, Any]:
    return {
        "name": b.name,
        "version": str(b.version),
        "sdist": b.sdist,
        "sha256": b.sdist_sha256,
        "source": {"kind": b.source_kind, "url": b.source_url} if b.source_url else None,
        "pins": [
            {
                "name": p.name,
                "version": str(p.version),
                "wheel": p.wheel,
                "sha256": p.sha256,
                "built": p.built,
            }
            for p in b.pins
        ],
        "config-settings": dict(b.config_settings),
        "fingerprint": b.fingerprint,
    }


def _install_dict(s: InstallStep) -> dict[str, Any]:
    return {
        "name": s.name,
        "version": str(s.version),
        "action": s.action,
        "built": s.built,
        "wheel": s.wheel,
        "sha256": s.sha256,
        "installed-version": s.installed_version,
        "reason": s.reason or None,
    }


__all__ = ["plan_dict", "plan_json", "plan_text"]
