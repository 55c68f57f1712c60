"""Summarise the folded stacks `python -m bench.api --py-spy DIR` wrote: where the server's CPU went.

`python -m bench.api_profile FILE.folded [--top 25] [--under TEXT] [--children TEXT]`

Prints the functions with the most samples on the stack (inclusive) and at the top of it (self), as a
percentage of all non-idle samples. `--under TEXT` keeps only the stacks that pass through a frame containing
TEXT (e.g. `send_list`), to see what one handler spends its time on; `--children TEXT` splits the samples of
the (outermost) frame containing TEXT by the function it was in next. Frames are py-spy's
`function (file:line)`; the line is dropped so a function's samples add up.
"""
from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME_LINE = re.compile(r":\d+\)$")


def read_stacks(path: Path, under: str = "") -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if not frames or not count.isdigit():
            continue
        names = [FRAME_LINE.sub(")", frame) for frame in frames.split(";")]
        if under and not any(under in name for name in names):
            continue
        stacks.append((names, int(count)))
    return stacks


def summarise(stacks: list[tuple[list[str], int]], top: int) -> str:
    total = sum(count for _, count in stacks) or 1
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, count in stacks:
        for name in set(frames):
            inclusive[name] += count
        own[frames[-1]] += count
    lines = [f"{total} samples"]
    for title, counter in (("inclusive", inclusive), ("self", own)):
        lines.append(f"\n{title}:")
        lines += [f"  {100 * count / total:5.1f}%  {name}" for name, count in counter.most_common(top)]
    return "\n".join(lines)


def children(stacks: list[tuple[list[str], int]], parent: str, top: int) -> str:
    """The samples under the outermost frame containing `parent`, by the frame right below it."""
    total = sum(count for _, count in stacks) or 1
    below: Counter[str] = Counter()
    for frames, count in stacks:
        at = next((index for index, name in enumerate(frames) if parent in name), None)
        if at is not None:
            below[frames[at + 1] if at + 1 < len(frames) else "(self)"] += count
    lines = [f"\nunder {parent}: {100 * sum(below.values()) / total:.1f}% of all samples"]
    lines += [f"  {100 * count / total:5.1f}%  {name}" for name, count in below.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_profile", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--under", default="", help="only stacks through a frame containing this text")
    parser.add_argument("--children", default="", help="split the samples under this frame by its callees")
    arguments = parser.parse_args(argv)
    stacks = read_stacks(arguments.file, arguments.under)
    if arguments.children:
        print(children(stacks, arguments.children, arguments.top))
    else:
        print(summarise(stacks, arguments.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
