"""What a user hands ``lock-build compile``, parsed into typed values.

Two input formats: pip's requirements-file syntax (``requirements.in``, with ``-r``,
``-c``, option lines, direct URLs and local paths) and ``pyproject.toml``
(``[project].dependencies``, optional dependencies, PEP 735 dependency groups), plus
pip's own configuration (:mod:`lock_build.inputs.pip_config`). Everything is parsed at
this edge; the rest of lock-build sees ``Requirement`` objects, links and index options,
never raw lines. One module per job:

- ``model``: the values (:class:`InputSet`, :class:`InputRequirement`, ...) and the digest;
- ``requirement_lines``: one requirement in any of pip's forms;
- ``requirement_files``: files, includes, continuations, option lines;
- ``pyproject``: ``pyproject.toml``, extras, dependency groups;
- ``index_options``: index option values and pip's binary rules;
- ``load``: every input of a command line, merged;
- ``pip_config``: pip's configuration files and ``PIP_*`` variables → index settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lock_build.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from lock_build.inputs.index_options import IndexOptions, apply_binary_option, merge_binary
    from lock_build.inputs.load import default_output_path, load_inputs, merge_input_sets
    from lock_build.inputs.model import (
        DirectLink,
        DynamicProject,
        InputRequirement,
        InputSet,
        UnnamedLink,
    )
    from lock_build.inputs.pyproject import parse_pyproject
    from lock_build.inputs.requirement_files import parse_constraints_file, parse_requirements_file
    from lock_build.inputs.requirement_lines import parse_requirement

# Imported from their modules on first use (PEP 562): sync reads pip's configuration
# (``inputs.pip_config``) and should not pay for the requirement parsers.
__getattr__ = lazy_exports(
    __name__,
    {
        "index_options": ("IndexOptions", "apply_binary_option", "merge_binary"),
        "load": ("default_output_path", "load_inputs", "merge_input_sets"),
        "model": ("DirectLink", "DynamicProject", "InputRequirement", "InputSet", "UnnamedLink"),
        "pyproject": ("parse_pyproject",),
        "requirement_files": ("parse_constraints_file", "parse_requirements_file"),
        "requirement_lines": ("parse_requirement",),
    },
)

__all__ = [
    "DirectLink",
    "DynamicProject",
    "IndexOptions",
    "InputRequirement",
    "InputSet",
    "UnnamedLink",
    "apply_binary_option",
    "default_output_path",
    "load_inputs",
    "merge_binary",
    "merge_input_sets",
    "parse_constraints_file",
    "parse_pyproject",
    "parse_requirement",
    "parse_requirements_file",
]
