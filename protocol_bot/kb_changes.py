"""Records each knowledge change the bot takes in: who, when, which file, what changed."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from .knowledge import KnowledgeBase, KnowledgeError, Problem, file_problem, load_knowledge
from .store import Audit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KnowledgeChange:
    """The difference between the last recorded knowledge base and the one now in use."""

    files_added: tuple[str, ...] = ()
    files_removed: tuple[str, ...] = ()
    files_changed: tuple[str, ...] = ()
    passages_added: tuple[str, ...] = ()
    passages_removed: tuple[str, ...] = ()
    passages_changed: tuple[str, ...] = ()
    first: bool = False  # nothing was recorded before: this is the starting point
    passages: int = 0

    @property
    def empty(self) -> bool:
        return not (self.first or self.files_added or self.files_removed or self.files_changed
                    or self.passages_added or self.passages_removed or self.passages_changed)

    def files(self) -> tuple[str, ...]:
        return self.files_added + self.files_changed + self.files_removed

    def lines(self) -> list[str]:
        if self.first:
            return [f"first recorded state: {self.passages} passages"]
        if self.empty:
            return ["no change since the last recorded knowledge base"]
        out = []
        for label, items in (("file added", self.files_added), ("file changed", self.files_changed),
                             ("file removed", self.files_removed),
                             ("passage added", self.passages_added),
                             ("passage changed", self.passages_changed),
                             ("passage removed", self.passages_removed)):
            out.extend(f"{label}: {item}" for item in items)
        return out

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def knowledge_files(directory: Path) -> list[Path]:
    """The files the loader reads (hidden files and folders are not knowledge)."""
    return sorted(p for p in directory.rglob("*.yaml")
                  if not any(part.startswith(".") for part in p.relative_to(directory).parts))


def knowledge_state(directory: Path, kb: KnowledgeBase) -> dict:
    files = {}
    for path in knowledge_files(directory):
        if file_problem(directory, path, str(path)) is not None:
            continue  # never read a pipe, device or oversized file (the loader refuses them)
        try:
            files[str(path.relative_to(directory))] = _sha(path.read_bytes())
        except OSError:  # removed while we looked: it is simply not there
            continue
    passages = {}
    for p in kb.passages:
        fields = dataclasses.asdict(p)
        fields.pop("line")  # moving a passage within its file is not a change to it
        passages[p.key] = _sha(json.dumps(fields, sort_keys=True, default=str).encode())
    return {"files": files, "passages": passages}


def diff_states(old: dict | None, new: dict) -> KnowledgeChange:
    if old is None:
        return KnowledgeChange(first=True, passages=len(new["passages"]))

    def split(a: dict, b: dict) -> tuple[tuple[str, ...], ...]:
        return (tuple(sorted(b.keys() - a.keys())), tuple(sorted(a.keys() - b.keys())),
                tuple(sorted(k for k in a.keys() & b.keys() if a[k] != b[k])))

    fa, fr, fc = split(old.get("files", {}), new["files"])
    pa, pr, pc = split(old.get("passages", {}), new["passages"])
    return KnowledgeChange(fa, fr, fc, pa, pr, pc, passages=len(new["passages"]))


def record_state(store: Audit, directory: Path, kb: KnowledgeBase, *, actor: str,
                 source: str) -> KnowledgeChange:
    """Compare with the last recorded state, store the new one, and audit any change once.

    The swap is one write, so when the CLI, the watcher and the desk all notice one edit,
    only the first records it.
    """
    directory = Path(directory)
    return record_known_state(store, f"knowledge:{directory.resolve()}",
                              knowledge_state(directory, kb), actor=actor, source=source)


def record_known_state(store: Audit | None, key: str, state: dict, *, actor: str,
                       source: str) -> KnowledgeChange:
    """record_state for a state already taken, under its own key (the database's knowledge
    is recorded under one key whichever folder a version was written to)."""
    old = None if store is None else store.swap_snapshot(key, state)
    change = diff_states(old, state)
    if store is not None and not change.empty:
        store.record_audit(actor=actor, action="kb.changed", target=", ".join(change.files()),
                           detail={**change.to_dict(), "source": source})
        log.info("knowledge changed (%s, by %s): %d file(s), +%d ~%d -%d passage(s)", source, actor,
                 len(change.files()), len(change.passages_added), len(change.passages_changed),
                 len(change.passages_removed))
    return change


def record_refusal(store: Audit | None, problems: list[Problem], *, actor: str,
                   source: str) -> None:
    log.warning("knowledge reload refused (%s, by %s): %d problem(s); still answering from the "
                "last good knowledge base", source, actor, len(problems))
    if store is not None:
        store.record_audit(actor=actor, action="kb.reload", outcome="refused",
                           target=", ".join(sorted({p.file for p in problems})),
                           detail={"source": source, "problems": [str(p) for p in problems[:50]]})


def validate(directory: Path) -> tuple[KnowledgeBase | None, list[Problem]]:
    try:
        return load_knowledge(directory), []
    except KnowledgeError as exc:
        return None, list(exc.problems)


def reload_live(knowledge, store: Audit | None, *, actor: str,
                source: str) -> tuple[list[Problem], KnowledgeChange | None]:
    """Swap the running bot's index if the files on disk are valid, and record what changed."""
    problems = knowledge.reload()
    if problems:
        record_refusal(store, problems, actor=actor, source=source)
        return problems, None
    kb = getattr(knowledge, "files_kb", None) or knowledge.answerer.kb  # without taught hints
    return [], record_state(store, knowledge.knowledge_dir, kb, actor=actor, source=source)
