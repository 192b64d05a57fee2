"""Where the placebo in time's lean on the synthetic economies comes from.

On the generator's economies the person-level placebo in time leans above 1 and the
estimate with no effect a little towards benefit (docs/evaluation.md, "The placebo's
lean, traced"). Two measurements, each over many economies:

``oracle`` uses what the data do not show (``generate(..., internals=...)``): each
person's true rate index and the day case finding looked at them. It compares the
enrolled people's rise from the earlier to the later half of their baseline with that of
people of the same true rate, age band and month (did selection make the enrolled rise?),
and, among people like those matched (a recent emergency admission, top quarter of the
rate index), the same ratio for people never enrolled by when case finding looked at
them: before their index date, with the year it looked at in the later half of their
baseline, before it otherwise, or after it.

``split`` builds whole economies, evaluates them (risk sets, the default) and splits the
placebo in time by who the comparison places are: people never enrolled or people
enrolled later.

``places`` does the same for the estimate, using what the data do not show: the
comparisons' follow-up over baseline by who holds the places (people enrolled later, and
people never enrolled by when case finding looked at them: more than a year before the
index date, in the year before it, or after it), and the estimate each kind alone gives.

    python benchmarks/evaluation_trace.py places --size 200000 --seeds 28 5 6 ...

``interval`` evaluates hand-made worlds with no effect (tests/risk/evaluation_worlds.py,
1,000 enrolled) and sets the spread of their estimates beside the standard error the
interval implies, and beside that of a bootstrap that resamples matched sets alone.

    python benchmarks/evaluation_trace.py oracle --size 200000 --seeds 101 102 ...
    python benchmarks/evaluation_trace.py split --size 200000 --seeds 5 6 7 8
    python benchmarks/evaluation_trace.py interval --size 20000 --seeds 1 2 ... 20

``followup`` (economies with no effect) compares the enrolled people's follow-up over
their baseline with that of people of the same true rate, age band and month: whether an
economy's lean comes from the enrolled (chance in their own admissions) or from their
comparisons.

    python benchmarks/evaluation_trace.py followup --size 200000 --seeds 28 1 5

``realised`` generates the same economy with and without the programme's effect and
counts the enrolled people's emergency admissions while enrolled: the rate ratio the
economy realises, against the one it planted (``--effect``).

    python benchmarks/evaluation_trace.py realised --size 200000 --seeds 25 --effect 1.25
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

EM = "emergency_admissions"
CELLS = ["tile", "band", "month"]  # people are compared within these (_Economy.periods)


def _halves(a: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Baseline bounds as the evaluation cuts them: from ``a`` to the year before
    ``index``, its later half (at most a year) starting at ``mid``."""
    from joinedup.risk.evaluate import PLACEBO_MAX_DAYS, PRE_DAYS

    b1 = index - PRE_DAYS
    half = np.minimum((b1 - a) // 2, PLACEBO_MAX_DAYS)
    return a, b1 - half, b1


def _counts(who, day, lo, hi, n) -> np.ndarray:
    inside = (day >= lo[who]) & (day < hi[who])
    return np.bincount(who[inside], minlength=n)


def _expected(frame: pd.DataFrame, cells: list[str], reference: pd.Series) -> pd.DataFrame:
    """Each row's expected counts in the two halves: the rates of the ``reference`` rows
    of its cell times its own person-years."""
    ref = frame[reference].groupby(cells)[["h1", "h2", "y1", "y2"]].sum()
    rate = pd.DataFrame({"r1": ref.h1 / ref.y1, "r2": ref.h2 / ref.y2})
    out = frame.join(rate, on=cells).dropna(subset=["r1", "r2"])
    return out.assign(x1=out.r1 * out.y1, x2=out.r2 * out.y2)


class _Economy:
    """One economy generated in memory with what its tables do not show: each person's
    exposure ``a``-``b``, true emergency rate index ``rate``, the day case finding looked
    at them (``looked``), whether they were ``enrolled``, and every emergency admission
    (``who``, ``adm``)."""

    def __init__(self, size: int, seed: int, effect: float, got: dict | None = None) -> None:
        """Generate the economy, or take what a build of it handed over (``got``)."""
        from joinedup.synth import SynthConfig
        from joinedup.synth.admissions import EMERGENCY_KINDS
        from joinedup.synth.build import generate
        from joinedup.synth.rates import risk_index
        from joinedup.synth.timeline import day

        config = SynthConfig(people=size, seed=seed, programme_effect=effect)
        if got is None:
            got = {}
            generate(config, internals=got)
        self.got = got
        self.people, self.enrolment = self.got["people"], self.got["enrolment"]
        spells = self.got["spells"]
        self.n = len(self.people)
        self.end = day(config.end)
        self.a, self.b = self.people.exposure(day(config.start), self.end)
        # The emergency rate index as the generator draws admissions from it.
        count, effect_of_practice = self.got["condition_count"], self.got["practice_effect"]
        self.rate = risk_index(self.people, count, 1.0, 0.25, 0.05) * effect_of_practice
        em = np.isin(spells.kind, EMERGENCY_KINDS)
        self.who, self.adm = spells.who[em], spells.admitted[em]
        self.looked = self.enrolment["candidate"].astype(np.int64)
        self.enrolled = np.zeros(self.n, bool)
        self.enrolled[self.enrolment["who"]] = True

    def periods(
        self,
        index: np.ndarray,
        first: tuple[np.ndarray, np.ndarray],
        second: tuple[np.ndarray, np.ndarray],
        keep: np.ndarray,
    ) -> pd.DataFrame:
        """Each person's emergency admissions (``h1``, ``h2``) and years (``y1``, ``y2``)
        in two periods, each a pair of (from, to) day arrays, with the ``CELLS`` they are
        compared within (twentieth of the true rate, age band and month of ``index``);
        one row per person of ``keep`` who is, like the enrolled, 40 or over on ``index``
        with a long-term condition and still registered."""
        from joinedup.synth.rates import band_of

        keep = keep & (self.b > index) & (self.people.age_at(index) >= 40)
        keep &= self.got["condition_count"] > 0
        f = pd.DataFrame(
            {
                "h1": _counts(self.who, self.adm, *first, self.n),
                "h2": _counts(self.who, self.adm, *second, self.n),
                "y1": (first[1] - first[0]) / 365.25,
                "y2": (second[1] - second[0]) / 365.25,
                "rate": self.rate,
                "band": band_of(self.people.age_at(index)),
                "month": index // 30,
                "enrolled": self.enrolled,
            }
        )[keep]
        f["tile"] = pd.qcut(np.log(f.rate), 20, labels=False)
        return f


def oracle(size: int, seed: int, effect: float) -> dict:
    """One economy's two oracle comparisons (sums, so economies can be pooled)."""
    e = _Economy(size, seed, effect)
    dates = e.enrolment["enrolled"].astype(np.int64)

    def frame(index: np.ndarray) -> pd.DataFrame:
        """The two halves of the baseline before ``index``, the year before it (``s``),
        and where the year case finding looked at each person lies."""
        b0, mid, b1 = _halves(e.a, index)
        f = e.periods(index, (b0, mid), (mid, b1), (b1 - b0) >= 182)
        rows = f.index.to_numpy()
        # share of the later half inside the year case finding looked at
        in_h2 = np.minimum(e.looked, b1) - np.maximum(e.looked - 365, mid)
        return f.assign(
            s=_counts(e.who, e.adm, index - 365, index, e.n)[rows],
            in_h2=(np.clip(in_h2, 0, None) / np.maximum(b1 - mid, 1))[rows],
            looked_before=(e.looked < index)[rows],
        )

    out = {}
    # 1. The enrolled against people of the same true rate, age band and month.
    own = frame(e.looked)
    x = _expected(own, CELLS, ~own.enrolled)
    x = x[x.enrolled]
    out["enrolled, against people of the same rate"] = x[["h1", "h2", "x1", "x2"]].sum()
    # 2. Index dates drawn from the enrolment dates, as the evaluation draws them.
    index = np.random.default_rng(seed).choice(dates, e.n)
    index[e.enrolment["who"]] = dates
    f = frame(index)
    never = ~f.enrolled
    group = np.select(
        [
            f.enrolled,
            never & f.looked_before & (f.in_h2 > 0.5),
            never & f.looked_before,
            never,
        ],
        [
            "enrolled (like the matched)",
            "never enrolled: looked at before, in the later half",
            "never enrolled: looked at before, otherwise",
            "never enrolled: looked at after the index date",
        ],
        "",
    )
    f = _expected(f.assign(group=group), CELLS, f.s >= 0)
    alike = (f.s >= 1) & (f.tile >= 15) & (f.group != "")  # like those matched
    for name, rows in f[alike].groupby("group"):
        out[name] = rows[["h1", "h2", "x1", "x2"]].sum()
    return out


def _comparisons_ratio(
    sets: pd.DataFrame, rows: pd.DataFrame, keep: np.ndarray, after: str, before: str
) -> float:
    """The comparisons' emergency admissions rate in period ``after`` over ``before``, as
    the evaluation pools them (each set's mean over its places among ``rows``, then
    summed over the sets of ``keep`` that have any)."""
    position = pd.Series(np.arange(len(sets)), index=sets.set)
    pos = position.reindex(rows.set).to_numpy()
    n = np.bincount(pos, minlength=len(sets))
    ok = keep & (n > 0)

    def total(col: str) -> float:
        return float((np.bincount(pos, rows[col].to_numpy(float), len(sets))[ok] / n[ok]).sum())

    return (total(f"c_{after}_{EM}") / total(f"c_{after}_years")) / (
        total(f"c_{before}_{EM}") / total(f"c_{before}_years")
    )


def _enrolled_ratio(sets: pd.DataFrame, keep: np.ndarray, after: str, before: str) -> float:
    """The enrolled people's emergency admissions rate in period ``after`` over
    ``before``, over the sets of ``keep``."""
    t = sets[keep]
    return (t[f"t_{after}_{EM}"].sum() / t[f"t_{after}_years"].sum()) / (
        t[f"t_{before}_{EM}"].sum() / t[f"t_{before}_years"].sum()
    )


def _evaluated(size: int, seed: int, effect: float, internals: dict | None = None):
    """The economy built and telephone care management evaluated with risk sets (the
    default design; 20 replicates, since only the point estimates are used), and the
    person_id of everyone enrolled, and which sets have a baseline (those the estimate
    uses). ``internals`` receives what the tables do not show (``generate``)."""
    from joinedup.risk.evaluate import MIN_BASELINE_YEARS, evaluate_programme
    from joinedup.synth import SynthConfig, build
    from joinedup.warehouse import open_warehouse

    with tempfile.TemporaryDirectory(prefix="evaltrace-") as tmp:
        config = SynthConfig(people=size, seed=seed, programme_effect=effect)
        built = build(config, Path(tmp), internals=internals)
        with open_warehouse(built.warehouse_path, read_only=True) as wh:
            res = evaluate_programme(wh, "telephone_care_management", bootstrap=20)
            enrolled = wh.table("programme_enrolment").select("person_id").to_pandas()
    keep = (res.sets.t_base_years >= MIN_BASELINE_YEARS).to_numpy()
    return res, set(enrolled.person_id), keep


def split(size: int, seed: int, effect: float) -> dict:
    """One whole economy evaluated with risk sets; its placebo by who the comparisons are."""
    res, enrolled, keep = _evaluated(size, seed, effect)
    sets, pairs = res.sets, res.pairs
    t_ratio = _enrolled_ratio(sets, keep, "plcpost", "plcpre")
    out = {"estimate": res.primary.rate_ratio, "placebo": res.primary.placebo.rate_ratio}
    later = pairs.person_id.isin(enrolled)
    for name, rows in (("never enrolled", pairs[~later]), ("enrolled later", pairs[later])):
        c_ratio = _comparisons_ratio(sets, rows, keep, "plcpost", "plcpre")
        out[f"{name}: places"] = len(rows)
        out[f"{name}: comparisons' later/earlier"] = c_ratio
        out[f"{name}: placebo"] = t_ratio / c_ratio
    out["enrolled later/earlier"] = t_ratio
    return out


#: Who holds a comparison place, by what case finding did to them (``places``).
PLACES = (
    "enrolled later",
    "never enrolled, looked at more than a year before the index date",
    "never enrolled, looked at in the year before it",
    "never enrolled, looked at after it",
)


def places(size: int, seed: int, effect: float) -> dict:
    """One economy evaluated with risk sets; the comparisons' follow-up over baseline by
    who holds the places (``PLACES``, from the day case finding looked at each person),
    and the estimate each kind of place alone would give."""
    got: dict = {}
    res, _, keep = _evaluated(size, seed, effect, internals=got)
    e = _Economy(size, seed, effect, got)
    sets, pairs = res.sets, res.pairs
    t_ratio = _enrolled_ratio(sets, keep, "post", "base")
    ids = np.asarray(e.got["ids"].to_pylist())
    row = pd.Series(np.arange(e.n), index=ids).reindex(pairs.person_id).to_numpy()
    index = pairs.index_date.to_numpy().astype("datetime64[D]").astype(np.int64)
    looked = e.looked[row]
    kind = np.select([e.enrolled[row], looked < index - 365, looked < index], PLACES[:3], PLACES[3])
    c_all = _comparisons_ratio(sets, pairs, keep, "post", "base")
    out = {"estimate": res.primary.rate_ratio, "enrolled: follow-up/baseline": t_ratio,
           "all places: follow-up/baseline": c_all}  # fmt: skip
    for name in PLACES:
        c_ratio = _comparisons_ratio(sets, pairs[kind == name], keep, "post", "base")
        out[f"{name}: places"] = int((kind == name).sum())
        out[f"{name}: follow-up/baseline"] = c_ratio
        out[f"{name}: estimate alone"] = t_ratio / c_ratio
    return out


def interval(base: Path, seed: int, comparisons: str) -> dict:
    """One hand-made world with no effect: its log estimate, the standard error its 95%
    interval implies, and that of resampling the matched sets alone (400 replicates)."""
    from tests.risk import evaluation_worlds as worlds

    from joinedup.risk.evaluate import MIN_BASELINE_YEARS, _did, evaluate_programme
    from joinedup.warehouse import open_warehouse

    with tempfile.TemporaryDirectory(prefix="evaltrace-") as tmp:
        path = Path(tmp) / "world.duckdb"
        worlds.rewrite(base, path, effect=1.0, enrolled=1000, seed=seed)
        with open_warehouse(path, read_only=True) as wh:
            res = evaluate_programme(wh, worlds.PROGRAMME, bootstrap=400, comparisons=comparisons)
    sets = res.sets[res.sets.t_base_years >= MIN_BASELINE_YEARS].reset_index(drop=True)
    n = len(sets)
    w = np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), size=400).astype(float)
    o = res.primary
    return {
        "log_estimate": float(np.log(o.rate_ratio)),
        "interval_se": float((np.log(o.upper) - np.log(o.lower)) / 3.92),
        "sets_only_se": float(np.nanstd(np.log(_did(sets, EM, "base", w)))),
    }


def followup(size: int, seed: int) -> dict:
    """With no effect planted: the enrolled people's emergency admissions in follow-up
    (enrolment to leaving or the end of the data) over their baseline, observed and as
    expected from people of the same true rate, age band and month of the day case
    finding looked at them."""
    e = _Economy(size, seed, 1.0)
    left = np.full(e.n, np.iinfo(np.int64).max)
    left[e.enrolment["who"]] = e.enrolment["left"]
    stop = np.minimum.reduce([left, e.b, np.full(e.n, e.end + 1)])
    b0, _, b1 = _halves(e.a, e.looked)
    f = e.periods(e.looked, (b0, b1), (e.looked, stop), ((b1 - b0) >= 182) & (stop > e.looked))
    x = _expected(f, CELLS, ~f.enrolled)
    x = x[x.enrolled]
    observed = (x.h2.sum() / x.y2.sum()) / (x.h1.sum() / x.y1.sum())
    expected = (x.x2.sum() / x.y2.sum()) / (x.x1.sum() / x.y1.sum())
    return {"observed": observed, "expected": expected, "ratio": observed / expected}


def realised(size: int, seed: int, effect: float) -> dict:
    """The ratio of the enrolled people's emergency admissions while enrolled, with the
    effect over without it (all of them, and leaving out the one in which a person dies)."""
    from joinedup.synth import SynthConfig
    from joinedup.synth.admissions import EMERGENCY_KINDS, KIND_FINAL
    from joinedup.synth.build import generate

    def count(ratio: float) -> tuple[int, int]:
        got: dict = {}
        generate(SynthConfig(people=size, seed=seed, programme_effect=ratio), internals=got)
        enrolment, spells = got["enrolment"], got["spells"]
        lo = np.full(len(got["people"]), np.iinfo(np.int64).max)
        hi = np.full(len(got["people"]), -1)
        lo[enrolment["who"]], hi[enrolment["who"]] = enrolment["enrolled"], enrolment["left"]
        on = (spells.admitted >= lo[spells.who]) & (spells.admitted < hi[spells.who])
        on &= np.isin(spells.kind, EMERGENCY_KINDS)
        return int(on.sum()), int((on & (spells.kind != KIND_FINAL)).sum())

    without, with_effect = count(1.0), count(effect)
    return {
        "planted": effect,
        "realised": with_effect[0] / without[0],
        "realised, not the admission in which a person dies": with_effect[1] / without[1],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "what", choices=("oracle", "split", "places", "interval", "realised", "followup")
    )
    ap.add_argument("--comparisons", default="not_yet_enrolled", help="interval only")
    ap.add_argument("--size", type=int, default=200_000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103, 104])
    ap.add_argument("--effect", type=float, default=1.0)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if args.what == "oracle":
        pooled: dict[str, pd.Series] = {}
        logs = []
        for seed in args.seeds:
            got = oracle(args.size, seed, args.effect)
            e = got["enrolled, against people of the same rate"]
            logs.append(np.log((e.h2 / e.x2) / (e.h1 / e.x1)))
            print(f"seed {seed}: enrolled later/earlier half, observed over expected "
                  f"{np.exp(logs[-1]):.3f}", flush=True)  # fmt: skip
            for k, v in got.items():
                pooled[k] = pooled.get(k, 0) + v
        se = np.std(logs, ddof=1) / np.sqrt(len(logs)) if len(logs) > 1 else np.nan
        print(f"\n{len(logs)} economies of {args.size:,}: enrolled, observed over expected "
              f"(log) mean {np.mean(logs):+.4f}, standard error {se:.4f}")  # fmt: skip
        print("\n| people (pooled) | earlier half | later half | later/earlier, observed over "
              "expected |\n| --- | --- | --- | --- |")  # fmt: skip
        for k, v in pooled.items():
            print(f"| {k} | {v.h1:.0f} | {v.h2:.0f} | {(v.h2 / v.x2) / (v.h1 / v.x1):.3f} |")
    elif args.what == "followup":
        for seed in args.seeds:
            got = followup(args.size, seed)
            print(f"seed {seed}: enrolled follow-up over baseline, "
                  + ", ".join(f"{k} {v:.3f}" for k, v in got.items()), flush=True)  # fmt: skip
    elif args.what == "places":
        rows = []
        for seed in args.seeds:
            rows.append({"seed": seed, **places(args.size, seed, args.effect)})
            print(", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                            for k, v in rows[-1].items()), flush=True)  # fmt: skip
        table = pd.DataFrame(rows).set_index("seed")
        logs = np.log(table.filter(regex="estimate|follow-up"))
        print(f"\nmean log over {len(table)} economies (places: mean per economy):")
        print(logs.mean().round(4).to_string())
        print(table.filter(regex=": places$").mean().round(0).to_string())
    elif args.what == "realised":
        for seed in args.seeds:
            got = realised(args.size, seed, args.effect)
            print(f"seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in got.items()))
    elif args.what == "interval":
        from joinedup.synth import SynthConfig, build

        with tempfile.TemporaryDirectory(prefix="evaltrace-") as tmp:
            base = build(SynthConfig(people=args.size, years=3, seed=5), Path(tmp))
            rows = []
            for seed in args.seeds:
                rows.append(interval(base.warehouse_path, seed, args.comparisons))
                print(f"world {seed}: " + ", ".join(f"{k} {v:.4f}" for k, v in rows[-1].items()),
                      flush=True)  # fmt: skip
        table = pd.DataFrame(rows)
        print(f"\n{len(table)} worlds, {args.comparisons}: SD of the log estimate "
              f"{table.log_estimate.std(ddof=1):.4f}; mean standard error of the interval "
              f"{table.interval_se.mean():.4f}, of resampling sets alone "
              f"{table.sets_only_se.mean():.4f}")  # fmt: skip
    else:
        rows = []
        for seed in args.seeds:
            got = split(args.size, seed, args.effect)
            rows.append({"seed": seed, **got})
            print(", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                            for k, v in rows[-1].items()), flush=True)  # fmt: skip
        table = pd.DataFrame(rows)
        logs = np.log(table.filter(like="placebo"))
        print(f"\nmean log over {len(table)} economies:")
        print(logs.mean().round(4).to_string())


if __name__ == "__main__":
    main()
