"""Print one of the README's numbered set-up commands, one `&&`-separated part per line.

`.ci/run` runs the README's test command through this script, so what CI runs and what a
newcomer types cannot drift apart: `python3 .ci/readme_command.py 2` prints the parts of
the command under the comment `# 2. ...` in the README's first ``sh`` block.
"""

from __future__ import annotations

import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def command_parts(readme: str, number: int) -> list[str]:
    """The parts of command `number`: its lines joined at trailing backslashes, split at &&."""
    lines = readme.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    marker = f"# {number}. "
    start = next(i for i, line in enumerate(lines) if line.startswith(marker)) + 1
    text = ""
    for line in lines[start:]:
        text += line.strip()
        if not text.endswith("\\"):
            break
        text = text[:-1].rstrip() + " "
    return [part.strip() for part in text.split("&&")]


def main(argv: list[str]) -> int:
    for part in command_parts(README.read_text(encoding="utf-8"), int(argv[0])):
        print(part)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
