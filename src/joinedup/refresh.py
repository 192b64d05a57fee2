"""One refresh of everything downstream of the warehouse, skipping what has not changed.

:func:`refresh` runs, in order (``joinedup refresh`` is its command):

1. **ingest** the extract folder, if one is given (:func:`joinedup.ingest.ingest`; a file
   already loaded with the same content is reported unchanged);
2. **registers**: the QOF registers derived from GP coded events into ``condition``
   (:func:`joinedup.derived.registers.load_registers`), when there are coded events;
3. **risk model**: trained (:func:`joinedup.risk.model.train`) only when there is none,
   or when asked to retrain;
4. **publish** every published figure (:func:`joinedup.published.publish.steps`:
   measures, headline, inequalities, population, segments, tiers and risk,
   opportunities, practice profiles, the plan scenario), dropping older states' figures;
5. **evaluation** of each programme with enrolments or a rollout (the published figure
   :meth:`joinedup.published.Figures.evaluation`);
6. **board pack** for the latest complete quarter (or the one asked for), written as
   HTML, PDF and Excel (:mod:`joinedup.reports.boardpack`).

Each step records the state of its inputs in ``<warehouse>.refresh.json`` beside the
warehouse (:class:`Ledger`) and is skipped, saying so, when that state is unchanged and
its outputs exist; ``force`` runs every step again (figures already kept for the state
of the data are then loaded, not recomputed). The states, all computed in the section
"Input states" below:

- ingest: the extract files' names and SHA-256 content hashes;
- registers: the register rules' fingerprint and the live ``gp_event`` and ``person``
  batches (what a derivation reads);
- risk model: no state: it is trained when there is none (``retrain`` to train again);
- publish and evaluation: the published figures' state (``Figures.store.state``: live
  batches, risk model, measure library, code versions); evaluation reads only the
  warehouse, so the programme store does not enter it;
- board pack: the figures' state, the programme store's change marker (the newest
  change log id, as :mod:`joinedup.programme.summary` keys its summaries), the quarter
  and the formats.

A state recorded by one step and changed by an earlier one (a new batch changes the
figures' state) makes the later steps run again; nothing else links them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from joinedup.derived.registers import Rules
    from joinedup.published import Figures
    from joinedup.warehouse import Warehouse

#: The steps of a refresh, in the order they run.
STEPS = ("ingest", "registers", "risk model", "publish", "evaluation", "board pack")
#: The board pack's formats a refresh writes.
FORMATS = ("html", "pdf", "xlsx")
#: Tables whose live batches a register derivation reads.
REGISTER_INPUTS = ("gp_event", "person")


class RefreshError(ValueError):
    """A refresh that cannot start (no warehouse, a bad format); says why in one line."""


@dataclass(frozen=True)
class StepResult:
    """One step's progress or outcome: ``status`` is running (with what it is doing in
    ``detail``), done, skipped (``detail`` says why) or failed."""

    step: str
    status: str
    detail: str = ""
    seconds: float = 0.0


@dataclass
class RefreshResult:
    """What a refresh did: one finished :class:`StepResult` per step, in order."""

    steps: list[StepResult]
    state_file: Path
    quarter: str | None = None
    board_pack: list[Path] = field(default_factory=list)

    def statuses(self) -> dict[str, str]:
        """``{step: status}`` of every step."""
        return {s.step: s.status for s in self.steps}


def state_file(warehouse: Path | str) -> Path:
    """Where the refresh ledger of ``warehouse`` is kept: ``<warehouse>.refresh.json``."""
    return Path(f"{warehouse}.refresh.json")


# ----------------------------------------------------------------------------------
# Input states: what each step's output depends on, as a short string
# ----------------------------------------------------------------------------------


def _digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def extract_files(extracts: Path) -> list[Path]:
    """The files an ingest of ``extracts`` reads: a folder's extract files, its manifest
    and its key bridges, or the one file named."""
    from joinedup.ingest import IngestError
    from joinedup.ingest.folder import MANIFEST
    from joinedup.ingest.folder import extract_files as in_folder
    from joinedup.ingest.keys import bridge_files

    if extracts.is_dir():
        manifest = extracts / MANIFEST
        extras = [manifest] if manifest.is_file() else []
        return in_folder(extracts) + extras + bridge_files([extracts])
    if extracts.is_file():
        return [extracts]
    raise IngestError(extracts, "no such file or folder")


def ingest_state(files: Sequence[Path]) -> str:
    """The files' names and content hashes."""
    from joinedup.warehouse.base import hash_file

    return _digest([(f.name, hash_file(f)) for f in files])


def registers_state(wh: Warehouse, rules: Rules) -> str | None:
    """The rules and the live batches a derivation reads; None when the warehouse holds
    no coded events of the rules' code system (nothing to derive)."""
    from joinedup.derived.registers import end_of_data

    if end_of_data(wh, rules) is None:
        return None
    df = wh.batches()
    live = df[(df.status == "loaded") & df.table_name.isin(REGISTER_INPUTS)]
    return _digest(
        rules.fingerprint, sorted(f"{r.table_name}:{r.batch_id}" for r in live.itertuples())
    )


def figures_state(figures: Figures) -> str:
    """The published figures' state (live batches, risk model, measure library, code)."""
    return figures.store.state


def programme_marker(url: str) -> str:
    """The programme store's newest change log id ('unavailable' when it cannot be
    opened: the board pack then says so)."""
    from sqlalchemy import func, select

    from joinedup.programme.models import ChangeLog
    from joinedup.programme.summary import ProgrammeUnavailable, store

    try:
        with store(url).session() as s:
            return str(s.scalar(select(func.max(ChangeLog.id))))
    except ProgrammeUnavailable:
        return "unavailable"


def board_pack_state(figures: Figures, url: str, quarter: str, formats: Sequence[str]) -> str:
    """The figures' state, the programme store's change marker, the quarter, the formats."""
    return _digest(figures_state(figures), programme_marker(url), quarter, sorted(formats))


class Ledger:
    """The input state each step last ran on, kept in :func:`state_file` (JSON)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.states: dict[str, str] = dict(json.loads(path.read_text())["steps"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            self.states = {}

    def unchanged(self, step: str, state: str) -> bool:
        """True when ``step`` last ran on ``state``."""
        return self.states.get(step) == state

    def record(self, step: str, state: str) -> None:
        """Remember that ``step`` ran on ``state`` (written at once, atomically)."""
        self.states[step] = state
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"steps": self.states}, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, self.path)


# ----------------------------------------------------------------------------------
# Running steps
# ----------------------------------------------------------------------------------

Progress = Callable[[StepResult], None]
Note = Callable[[str], None]


class _Runner:
    """Runs or skips steps, timing them, telling ``progress`` and keeping the ledger."""

    def __init__(self, ledger: Ledger, force: bool, progress: Progress | None) -> None:
        self.ledger, self.force = ledger, force
        self.progress = progress or (lambda _: None)
        self.results: list[StepResult] = []

    def _finish(self, result: StepResult) -> None:
        self.results.append(result)
        self.progress(result)

    def skip(self, step: str, why: str) -> None:
        self._finish(StepResult(step, "skipped", why))

    def fresh(self, step: str, state: str, outputs_exist: bool) -> bool:
        """True (and the step reported skipped) when ``step`` last ran on ``state`` and
        its outputs exist, unless forced."""
        if self.force or not outputs_exist or not self.ledger.unchanged(step, state):
            return False
        self.skip(step, "inputs unchanged since the last refresh")
        return True

    def run(self, step: str, work: Callable[[Note], str], state: str | None = None) -> None:
        """Run ``work(note)`` (it returns a line saying what it did) and record ``state``."""
        start = perf_counter()

        def note(text: str) -> None:
            self.progress(StepResult(step, "running", text, perf_counter() - start))

        note("")
        try:
            detail = work(note)
        except BaseException as exc:
            self._finish(StepResult(step, "failed", str(exc), perf_counter() - start))
            raise
        if state is not None:
            self.ledger.record(step, state)
        self._finish(StepResult(step, "done", detail, perf_counter() - start))


def _ingest(extracts: Path, warehouse: Path, key_file: Path | None, note: Note) -> str:
    from joinedup.ingest import ingest

    def on_rows(path: str, n: int) -> None:
        note(f"reading {Path(path).name}")

    reports = ingest([extracts], warehouse=warehouse, key_file=key_file, on_rows=on_rows)
    counts = Counter(r.status for r in reports)
    files = f"{len(reports)} file{'' if len(reports) == 1 else 's'}"
    text = f"{files}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    quarantined = sum(r.rows_quarantined for r in reports)
    return text + (f"; {quarantined:,} rows quarantined" if quarantined else "")


def _registers(warehouse: Path, rules: Rules) -> str:
    from joinedup.derived.registers import load_registers
    from joinedup.warehouse import open_warehouse

    with open_warehouse(warehouse) as wh:
        result = load_registers(wh, None, rules)
    return f"{result.status}: batch {result.batch.batch_id} (as of {result.as_of:%d/%m/%Y})"


def _train(warehouse: Path, folder: Path, note: Note) -> str:
    from joinedup.risk.model import train
    from joinedup.warehouse import open_warehouse

    with open_warehouse(warehouse, read_only=True) as wh:
        train(wh, folder, step=note)
    return f"trained; model and model card in {folder}"


def _publish(figures: Figures, note: Note) -> str:
    from joinedup.published.publish import steps

    before = figures.store.computed
    for label, step in steps(figures):
        note(label)
        step()
    pruned = figures.store.prune()
    return f"{figures.store.computed - before} figures computed, state {figures.store.state}" + (
        f"; {pruned} older states removed" if pruned else ""
    )


def _evaluate(figures: Figures, names: list[str], note: Note) -> str:
    parts = []
    for name in names:
        note(name)
        try:
            e = figures.evaluation(name)
        except ValueError as exc:  # cannot be evaluated: the board pack says why too
            parts.append(f"{name}: not evaluated ({exc})")
            continue
        ratio = e["rate_ratio"]
        parts.append(
            f"{name}: rate ratio {ratio:.2f} ({e['lower']:.2f} to {e['upper']:.2f})"
            if ratio is not None
            else f"{name}: withheld (small numbers)"
        )
    return "; ".join(parts)


def _board_pack(
    figures: Figures, url: str, quarter: str, out: Path, formats: Sequence[str], note: Note
) -> list[Path]:
    from joinedup.published.figures import HEADLINE_MEASURES
    from joinedup.reports import boardpack

    note(f"gathering {quarter}")
    pack = boardpack.build(figures, url, quarter, HEADLINE_MEASURES)
    written = []
    for fmt in formats:
        note(f"writing {fmt}")
        written.append(boardpack.write(pack, out, fmt))
    return written


def refresh(
    warehouse: Path | str,
    extracts: Path | str | None = None,
    *,
    key_file: Path | str | None = None,
    quarter: str | None = None,
    out: Path | str | None = None,
    retrain: bool = False,
    force: bool = False,
    formats: Sequence[str] = FORMATS,
    progress: Progress | None = None,
) -> RefreshResult:
    """Ingest ``extracts`` (a folder or file, if given), then bring the registers, the
    risk model, the published figures, the programme evaluations and the board pack up
    to date, skipping each step whose inputs did not change (see the module docstring).

    ``key_file``: the pseudonymisation key for ingest (default as for ``joinedup
    ingest``). ``quarter``: the board pack's quarter, e.g. 2026Q1 (default: the latest
    complete quarter of the data). ``out``: the board pack's folder (default
    ``board-pack/`` beside the warehouse). ``retrain``: train the risk model even if
    there is one. ``force``: run every step even when its inputs are unchanged.
    ``progress`` is told each step's start, what it is doing, and its outcome.

    Raises :class:`RefreshError` before any step when it cannot start; a step's own
    error (IngestError, RegistersError, ...) after reporting the step failed, with the
    steps before it recorded.
    """
    from joinedup import settings
    from joinedup.reports.boardpack import pack_path, quarter_bounds

    path = Path(warehouse)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise RefreshError(f"board pack formats {list(formats)}: use {', '.join(FORMATS)}")
    if quarter is not None:
        quarter = quarter.strip().upper()
        quarter_bounds(quarter)  # QuarterError (a ValueError) names what was expected
    if extracts is None and not path.exists():
        raise RefreshError(
            f"no warehouse at {path}: run `joinedup demo` first, pass --warehouse FILE, or "
            "give an extract folder to load"
        )
    folder = Path(out) if out is not None else path.parent / "board-pack"
    ledger = Ledger(state_file(path))
    run = _Runner(ledger, force, progress)
    result = RefreshResult(run.results, ledger.path)

    # 1. ingest
    if extracts is None:
        run.skip("ingest", "no extract folder given")
    else:
        source = Path(extracts)
        state = ingest_state(extract_files(source))
        if not run.fresh("ingest", state, path.exists()):
            run.run("ingest", lambda note: _ingest(source, path, key_file, note), state)

    # 2. registers
    from joinedup.derived.registers import derived_batches, load_rules
    from joinedup.warehouse import open_warehouse

    rules = load_rules()
    with open_warehouse(path, read_only=True) as wh:
        state = registers_state(wh, rules)
        derived = state is not None and bool(derived_batches(wh))
    if state is None:
        run.skip("registers", f"no GP coded events ({rules.code_system}) in gp_event")
    elif not run.fresh("registers", state, derived):
        run.run("registers", lambda note: _registers(path, rules), state)

    # 3. risk model
    model = settings.risk_model_dir(path)
    if (model / "model.json").exists() and not retrain:
        run.skip("risk model", f"a trained model is in {model} (retrain to train again)")
    else:
        run.run("risk model", lambda note: _train(path, model, note))

    # 4-6. publish, evaluation, board pack
    from joinedup.published import Figures
    from joinedup.reports.boardpack import latest_complete_quarter

    with Figures(path) as figures:
        state = figures_state(figures)

        def kept() -> bool:
            return figures.store.folder is not None and figures.store.folder.is_dir()

        if not run.fresh("publish", state, kept()):
            run.run("publish", lambda note: _publish(figures, note), state)

        names = figures.programmes()
        if not names:
            run.skip("evaluation", "no programme enrolments or rollouts")
        elif not run.fresh("evaluation", state, kept()):
            run.run("evaluation", lambda note: _evaluate(figures, names, note), state)

        result.quarter = quarter or latest_complete_quarter(figures)
        url = settings.programme_url(path)
        state = board_pack_state(figures, url, result.quarter, formats)
        targets = [pack_path(folder, result.quarter, f) for f in formats]
        if run.fresh("board pack", state, all(t.exists() for t in targets)):
            result.board_pack = targets
        else:

            def pack(note: Note) -> str:
                result.board_pack = _board_pack(figures, url, result.quarter, folder, formats, note)
                return f"{result.quarter}: " + ", ".join(p.name for p in result.board_pack)

            run.run("board pack", pack, state)
    return result
