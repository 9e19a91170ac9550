"""Other tools' habits on this command line, recognised and answered with our own command.

hydra overrides parameters with bare ``NAME=VALUE`` words (``script.py a=1,2``, with
``-m`` for a sweep); papermill with ``-p NAME VALUE``. Typed here they are refused by
argparse with a generic message; :func:`habit_hint` rewrites the command line the
py3r-script way and, when that parses, says so.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from .parser import COMMANDS, ArgumentsError, parse_command_line

__all__ = ["habit_hint"]

_OVERRIDE = re.compile(r"\+{0,2}([A-Za-z_][\w.]*)=(.*)", re.DOTALL)  # hydra: a=1, +a=1
_MULTIRUN = ("-m", "--multirun")
_PARAM_FLAGS = ("-p", "--param")


def habit_hint(tokens: Sequence[str], extras: Sequence[str] | None) -> str | None:
    """What to type instead, when the command line has another tool's habits; else ``None``.

    ``tokens`` is the command line (without the program); ``extras`` the words argparse did
    not recognise (``None`` when it stopped before knowing them, e.g. for a missing flag).

    >>> print(habit_hint(["sweep", "pipeline.py", "a=1,2"], ["a=1,2"]))
    NAME=VALUE alone is hydra's override; values to sweep are given with -s NAME=V1,V2 (did
    you mean -s a=1,2?):
      py3r-script sweep pipeline.py -s a=1,2
    """
    command = next((t for t in tokens if t in COMMANDS), None)
    if command not in ("run", "sensitivity", "sweep"):
        return None
    start = list(tokens).index(command) + 1
    rewrite = _Rewrite(command)
    words = rewrite(list(tokens[start:]), _free_words(list(tokens[start:]), extras))
    if not rewrite.notes:
        return None
    if command == "run" and "-s" in words:
        command = "sweep"  # several values for one run: a sweep
    suggested = [*tokens[:start - 1], command, *words]
    try:
        parse_command_line(suggested)
    except ArgumentsError:
        return None  # no command of ours does the same: the plain error is better
    meant = f" (did you mean {shlex.join(rewrite.meant)}?)" if rewrite.meant else ""
    return ("; ".join(dict.fromkeys(rewrite.notes)) + meant + ":\n  py3r-script "
            + shlex.join(suggested))


class _Rewrite:
    """Words after the subcommand in our spelling; ``notes`` say which habits were found,
    ``meant`` holds the words that replace them."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.notes: list[str] = []
        self.meant: list[str] = []

    def __call__(self, words: list[str], free: set[int]) -> list[str]:
        out: list[str] = []
        position = 0
        while position < len(words):
            word, after = words[position], words[position + 1:position + 3]
            if (word in _PARAM_FLAGS and len(after) == 2 and "=" not in after[0]
                    and not after[1].startswith("-") and position + 2 in free):
                out += self._papermill(*after)
                position += 3
                continue
            found = _OVERRIDE.fullmatch(word) if position in free else None
            if found:
                out += self._override(f"{found.group(1)}={found.group(2)}")
            elif word in _MULTIRUN and position in free:
                self.notes.append(f"{word} (hydra's multirun) is not needed: a sweep runs "
                                  "every value")
            else:
                out.append(word)
            position += 1
        return out

    def _papermill(self, name: str, value: str) -> list[str]:
        if self.command == "run":
            self.notes.append("-p takes NAME=VALUE, not papermill's -p NAME VALUE")
            replacement = ["-p", f"{name}={value}"]
        else:
            self.notes.append("-p gives a single run its values; a sweep holds a value "
                              "constant with --nominal NAME=VALUE")
            replacement = ["--nominal", f"{name}={value}"]
        self.meant += replacement
        return replacement

    def _override(self, word: str) -> list[str]:
        if self.command == "run" and "," not in word.partition("=")[2]:
            self.notes.append("NAME=VALUE alone is hydra's override; a run takes -p NAME=VALUE")
            replacement = ["-p", word]
        else:
            self.notes.append("NAME=VALUE alone is hydra's override; values to sweep are given "
                              "with -s NAME=V1,V2")
            replacement = ["-s", word]
        self.meant += replacement
        return replacement


def _free_words(words: list[str], extras: Sequence[str] | None) -> set[int]:
    """Positions of the words that are not a flag's value: those argparse left over, or
    (when it stopped early) each word that does not follow a flag."""
    if extras is not None:
        left = list(extras)
        free = set()
        for position in range(len(words) - 1, -1, -1):  # the extras are the last of them
            if left and words[position] == left[-1]:
                free.add(position)
                left.pop()
        return free
    return {i for i, word in enumerate(words)
            if i == 0 or not words[i - 1].startswith("-") or words[i - 1] in _MULTIRUN}
