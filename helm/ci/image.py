"""The repository's Dockerfile, read the way a builder reads it.

No Docker engine runs on CI machines, so the image is never built. This
module parses the Dockerfile (stages, ARG substitution, line continuations,
heredocs, JSON and shell forms), applies .dockerignore the way BuildKit
does, and says what the runtime stage's image holds: its ENV, USER, WORKDIR,
EXPOSE, ENTRYPOINT and CMD, and the files its COPY instructions put where.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
import re
import shlex


@dataclasses.dataclass
class Instruction:
    keyword: str
    flags: dict[str, str]
    args: str  # the rest of the line, after the flags
    json_args: list[str] | None  # when written as a JSON array
    heredocs: dict[str, str]  # heredoc name -> content
    line: int


@dataclasses.dataclass
class Stage:
    index: int
    base: str
    name: str | None
    instructions: list[Instruction]
    args: dict[str, str]

    def matches(self, ref: str) -> bool:
        return ref == self.name or ref == str(self.index)


@dataclasses.dataclass
class CopySource:
    stage: str | None  # None: the build context
    path: str


@dataclasses.dataclass
class Copy:
    sources: list[CopySource]
    heredoc: str | None
    dest: str
    chown: str | None
    line: int


_HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")


def _substitute(text: str, variables: dict[str, str]) -> str:
    def repl(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        return variables.get(name, "")

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", repl, text)


def _split_flags(rest: str) -> tuple[dict[str, str], str]:
    flags: dict[str, str] = {}
    while rest.startswith("--"):
        word, _, remainder = rest.partition(" ")
        key, _, value = word[2:].partition("=")
        flags[key] = value
        rest = remainder.lstrip()
    return flags, rest


def parse(path: str) -> list[Stage]:
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    stages: list[Stage] = []
    global_args: dict[str, str] = {}
    i = 0
    while i < len(lines):
        start = i
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        # Continuations; comment lines inside a continued instruction are
        # dropped, as BuildKit does.
        while line.rstrip().endswith("\\") and i < len(lines):
            line = line.rstrip()[:-1]
            nxt = lines[i]
            i += 1
            if nxt.lstrip().startswith("#"):
                line += " "
                continue
            line += " " + nxt.strip()
        keyword, _, rest = line.strip().partition(" ")
        keyword = keyword.upper()
        rest = rest.strip()
        heredocs: dict[str, str] = {}
        for match in _HEREDOC.finditer(rest):
            name = match.group(3)
            body = []
            while i < len(lines) and lines[i] != name:
                body.append(lines[i])
                i += 1
            if i >= len(lines):
                raise ValueError(f"Dockerfile line {start + 1}: heredoc {name} never ends")
            i += 1
            heredocs[name] = "\n".join(body) + "\n"
        variables = dict(global_args)
        if stages:
            variables.update(stages[-1].args)
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            global_args[name] = default.strip('"')
            continue
        if keyword == "FROM":
            words = _substitute(rest, global_args).split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(len(stages), words[0], name, [], {}))
            continue
        if not stages:
            raise ValueError(f"Dockerfile line {start + 1}: {keyword} before FROM")
        stage = stages[-1]
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            if default:
                stage.args[name] = _substitute(default.strip('"'), variables)
            elif name in global_args:
                stage.args[name] = global_args[name]
            continue
        flags, rest = _split_flags(rest)
        if keyword not in ("RUN",):  # RUN's variables are the shell's
            rest = _substitute(rest, variables) if keyword != "LABEL" else rest
        json_args = None
        if rest.startswith("["):
            try:
                json_args = json.loads(rest)
            except json.JSONDecodeError:
                json_args = None
        stage.instructions.append(Instruction(keyword, flags, rest, json_args, heredocs, start + 1))
    return stages


def copies(stage: Stage) -> list[Copy]:
    out = []
    for ins in stage.instructions:
        if ins.keyword not in ("COPY", "ADD"):
            continue
        words = ins.json_args if ins.json_args is not None else shlex.split(ins.args)
        dest = words[-1]
        heredoc = None
        sources = []
        for word in words[:-1]:
            match = _HEREDOC.fullmatch(word)
            if match:
                heredoc = ins.heredocs[match.group(3)]
            else:
                sources.append(CopySource(ins.flags.get("from"), word))
        out.append(Copy(sources, heredoc, dest, ins.flags.get("chown"), ins.line))
    return out


def last(stage: Stage, keyword: str) -> Instruction | None:
    found = [ins for ins in stage.instructions if ins.keyword == keyword]
    return found[-1] if found else None


def env(stage: Stage) -> dict[str, str]:
    out: dict[str, str] = {}
    for ins in stage.instructions:
        if ins.keyword != "ENV":
            continue
        if "=" not in ins.args.split()[0]:
            name, _, value = ins.args.partition(" ")
            out[name] = value.strip()
            continue
        for word in shlex.split(ins.args):
            name, _, value = word.partition("=")
            out[name] = value
    return out


def exec_form(stage: Stage, keyword: str) -> list[str] | None:
    """ENTRYPOINT / CMD; a shell form needs /bin/sh, which distroless lacks."""
    ins = last(stage, keyword)
    if ins is None:
        return None
    if ins.json_args is None:
        raise ValueError(
            f"Dockerfile line {ins.line}: {keyword} in shell form runs /bin/sh; use the JSON form"
        )
    return ins.json_args


# --- .dockerignore ---------------------------------------------------------


def read_dockerignore(path: str) -> list[tuple[bool, str]]:
    rules = []
    if not os.path.exists(path):
        return rules
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            pattern = line[1:] if negate else line
            pattern = os.path.normpath(pattern.strip("/"))
            rules.append((negate, pattern))
    return rules


def _pattern_matches(pattern: str, path: str) -> bool:
    # A pattern matches a path or any of its parent folders (BuildKit's
    # behaviour: excluding a folder excludes what is in it).
    parts = path.split("/")
    for n in range(1, len(parts) + 1):
        if fnmatch.fnmatchcase("/".join(parts[:n]), pattern):
            return True
    return False


def ignored(rules: list[tuple[bool, str]], path: str) -> bool:
    """Whether a context-relative file path is left out of the context."""
    result = False
    for negate, pattern in rules:
        if _pattern_matches(pattern, path):
            result = not negate
    return result


def context_files(root: str, source: str, rules) -> list[str]:
    """The files a context COPY source stands for, after .dockerignore."""
    full = os.path.join(root, source)
    if os.path.isdir(full):
        found = []
        for dirpath, _dirs, files in os.walk(full):
            for name in files:
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                if not ignored(rules, rel):
                    found.append(rel)
        return sorted(found)
    rel = os.path.normpath(source)
    if os.path.exists(full) and not ignored(rules, rel):
        return [rel]
    return []
