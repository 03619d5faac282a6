"""python -m distribution [--check]: write server.json and manifest.json, or check them."""

from __future__ import annotations

import sys

from .documents import problems, write


def main(argv: list[str]) -> int:
    if "--check" in argv:
        found = problems()
        for line in found:
            print(line)
        if found:
            print("run: python -m distribution (and see README.md's Install section for the marker line)")
        return 1 if found else 0
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
