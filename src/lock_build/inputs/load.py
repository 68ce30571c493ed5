"""Every input the command line names, read and merged into one :class:`InputSet`.

:func:`load_inputs` picks the default input when none is named, sends each path to its
reader (``pyproject.toml`` or a requirements file), reads ``--constraint`` files, and
:func:`merge_input_sets` concatenates the results (two different primary indexes are
an error). :func:`default_output_path` says where the lock goes beside the first input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from lock_build.errors import InputError
from lock_build.inputs._helpers import display_path, unique
from lock_build.inputs.index_options import IndexOptions, binary_fields, merge_binary
from lock_build.inputs.model import InputSet
from lock_build.inputs.pyproject import parse_pyproject
from lock_build.inputs.requirement_files import parse_constraints_file, parse_requirements_file

__all__ = ["default_output_path", "load_inputs", "merge_input_sets"]


def load_inputs(
    paths: Sequence[Path],
    *,
    constraints: Sequence[Path] = (),
    extras: Sequence[str] = (),
    all_extras: bool = False,
    groups: Sequence[str] = (),
    cwd: Path,
    environ: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> InputSet:
    """Read every input the command line names (or the default one) into one InputSet;
    ``stdin`` is the text of a ``-`` input."""
    if not paths:
        for candidate in ("requirements.in", "pyproject.toml"):
            if (cwd / candidate).is_file():
                paths = [Path(candidate)]
                break
        else:
            raise InputError(
                f"No input given and neither requirements.in nor pyproject.toml exists in {cwd}.",
                hint="Name a requirements file or a pyproject.toml: lock-build compile "
                "requirements.in",
            )
    pyprojects = [p for p in paths if p.name == "pyproject.toml"]
    if (extras or all_extras or groups) and not pyprojects:
        option = "--group" if groups and not (extras or all_extras) else "--extra"
        raise InputError(
            f"{option} selects from a pyproject.toml, but none is among the inputs "
            f"({', '.join(str(p) for p in paths)}).",
            hint="Add pyproject.toml to the inputs.",
        )
    parts: list[InputSet] = []
    for path in paths:
        if path.name == "pyproject.toml":
            parts.append(
                parse_pyproject(path, extras=extras, all_extras=all_extras, groups=groups, cwd=cwd)
            )
        else:
            parts.append(parse_requirements_file(path, cwd=cwd, environ=environ, stdin=stdin))
    for path in constraints:
        parts.append(parse_constraints_file(path, cwd=cwd, environ=environ))
    return merge_input_sets(parts, cwd=cwd)


def merge_input_sets(parts: Sequence[InputSet], *, cwd: Path) -> InputSet:
    """Concatenate inputs; option lines are merged and a second primary index is an error."""
    index_url: str | None = None
    index_from = ""
    for part in parts:
        opts = part.index_options
        if opts.index_url is not None:
            if index_url is not None and opts.index_url != index_url:
                raise InputError(
                    f"The inputs name two primary indexes: --index-url {index_url} "
                    f"({index_from}) and --index-url {opts.index_url} "
                    f"({', '.join(display_path(f, cwd) for f in part.files)}).",
                    hint="Keep one --index-url line; add others with --extra-index-url.",
                )
            index_url = opts.index_url
            index_from = ", ".join(display_path(f, cwd) for f in part.files)
    options = IndexOptions(
        index_url=index_url,
        extra_index_urls=tuple(unique(u for p in parts for u in p.index_options.extra_index_urls)),
        find_links=tuple(unique(u for p in parts for u in p.index_options.find_links)),
        no_index=any(p.index_options.no_index for p in parts),
        pre=any(p.index_options.pre for p in parts),
        **binary_fields(
            merge_binary((p.index_options.only_binary, p.index_options.no_binary) for p in parts)
        ),
        prefer_binary=any(p.index_options.prefer_binary for p in parts),
        trusted_hosts=tuple(unique(h for p in parts for h in p.index_options.trusted_hosts)),
    )
    return InputSet(
        requirements=tuple(r for p in parts for r in p.requirements),
        constraints=tuple(r for p in parts for r in p.constraints),
        unnamed=tuple(u for p in parts for u in p.unnamed),
        index_options=options,
        files=tuple(unique(f for p in parts for f in p.files)),
        warnings=tuple(w for p in parts for w in p.warnings),
        cwd=cwd,
        dynamic=tuple(d for p in parts for d in p.dynamic),
    )


def default_output_path(first_input: Path) -> Path:
    """Where the lock goes when ``-o`` is not given: beside the first input."""
    if first_input.name == "pyproject.toml":
        return first_input.with_name("lock-build.lock")
    if first_input.suffix in (".in", ".txt"):
        return first_input.with_suffix(".lock")
    if first_input.suffix == ".lock":
        # Never overwrite an input with its own lock.
        return first_input.with_name(first_input.stem + ".lock-build.lock")
    return first_input.with_name(first_input.name + ".lock")
