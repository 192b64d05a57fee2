"""The Monte Carlo engine: every run and year at once, as numpy arrays.

A model is built from a scenario and a baseline. Every uncertain input is a named
parameter (growth of each setting, each effect, shift, stay change, uptake achieved,
each cost); a run is one draw of all of them. ``evaluate`` takes a matrix of parameter
values (runs x parameters) and returns every output for every run and year, so the
Monte Carlo, the deterministic central case and the one-way sensitivity (tornado) are
the same arithmetic on different matrices.

Per run r, setting s and year t (1..T):

- projected use without the scenario: baseline x population growth of each age/sex cell
  x (1 + non-demographic growth of s) ** t;
- an intervention's members use ``rate[s]`` units a year each (their cohort's baseline
  rate, grown the same way); an effect ``e`` changes that by ``members x rate x e``;
  avoided spells take their cohort's mean stay and unit cost with them;
- shifts move a share (or a fixed number) of members' remaining use to another setting,
  which costs that setting's unit cost; a stay change adds ``days`` to each remaining
  spell at the marginal (excess) bed day cost;
- gross savings = projected cost without - cost with the scenario (activity only);
  investment = set-up + per person + fixed + staff (with optimism bias, if set);
  net benefit = gross savings - investment.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np
import yaml

from joinedup.scenarios import economics
from joinedup.scenarios.baseline import Baseline, CohortProfile
from joinedup.scenarios.model import Intervention, Range, Scenario
from joinedup.scenarios.projection import growth_factors
from joinedup.scenarios.settings import SETTINGS, bed_day_cost

OCCUPANCY = (0.85, 0.92)
SETTING_NAMES = tuple(SETTINGS)
S_INDEX = {s: i for i, s in enumerate(SETTING_NAMES)}
BED_SETTINGS = np.array([SETTINGS[s].hospital_beds for s in SETTING_NAMES])


@cache
def default_assumptions() -> dict:
    """The shipped defaults: non-demographic growth and workforce productivity."""
    text = (
        resources.files("joinedup.scenarios")
        .joinpath("data", "assumptions.yaml")
        .read_text(encoding="utf-8")
    )
    return yaml.safe_load(text)


@dataclass(frozen=True)
class Param:
    """One uncertain input."""

    key: str
    label: str
    range: Range


def sample(params: list[Param], runs: int, seed: int) -> np.ndarray:
    """Draw ``runs`` values of each parameter (runs x parameters), reproducibly.

    Each parameter has its own random stream, seeded by ``seed`` and the parameter's key,
    so a parameter gets the same draws in every scenario that has it (common random
    numbers): differences between scenarios of a comparison are the interventions', not
    noise in the shared growth assumptions.
    """
    out = np.empty((runs, len(params)))
    for j, p in enumerate(params):
        rng = np.random.default_rng([seed, zlib.crc32(p.key.encode())])
        out[:, j] = draw(p.range, rng, runs)
    return out


def draw(r: Range, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` draws of range ``r`` from its distribution.

    PERT: low + (high - low) x Beta(1 + 4(c - low)/(high - low), 1 + 4(high - c)/(high - low)),
    mean (low + 4 central + high) / 6. Triangular: mode at central. Uniform: low to high.
    """
    a, c, b = r.low, r.central, r.high
    if b <= a:
        return np.full(n, c, dtype=float)
    if r.distribution == "uniform":
        return rng.uniform(a, b, n)
    if r.distribution == "triangular":
        return rng.triangular(a, c, b, n)
    alpha = 1 + 4 * (c - a) / (b - a)
    beta = 1 + 4 * (b - c) / (b - a)
    return a + (b - a) * rng.beta(alpha, beta, n)


@dataclass
class _Compiled:
    """An intervention turned into arrays."""

    spec: Intervention
    members: np.ndarray  # (T,) planned members, before ``achieved``
    eligible: np.ndarray  # (T,) eligible people (inf when rates are given)
    rate: np.ndarray  # (S,) units a member-year
    unit_cost: np.ndarray  # (S,)
    los: np.ndarray  # (S,) mean bed days a unit
    active: np.ndarray  # (T,) bool
    warnings: list[str] = field(default_factory=list)
    # Columns of the parameter matrix holding this intervention's inputs.
    p_achieved: int = -1
    p_effects: list[int] = field(default_factory=list)
    p_shifts: list[int] = field(default_factory=list)
    p_los: list[int] = field(default_factory=list)
    p_setup: int = -1
    p_per_person: int = -1
    p_fixed: int = -1
    p_staff: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Outputs:
    """Every output of every run: arrays with runs first, then settings/years."""

    count: np.ndarray  # (R, S, T)
    base_count: np.ndarray  # (R, S, T)
    bed_days: np.ndarray  # (R, T) acute hospital bed days with the scenario
    base_bed_days: np.ndarray  # (R, T)
    cost: np.ndarray  # (R, T) cost of activity with the scenario
    base_cost: np.ndarray  # (R, T)
    investment: np.ndarray  # (R, T)
    gross_savings: np.ndarray  # (R, T)
    wte: np.ndarray  # (R, T)
    wte_by_role: dict[str, np.ndarray]  # role -> (R, T)
    savings_by_intervention: dict[str, np.ndarray]  # name -> (R, T)
    investment_by_intervention: dict[str, np.ndarray]  # name -> (R, T)
    discount_rate: float

    @property
    def net_benefit(self) -> np.ndarray:
        """Gross savings minus investment, (R, T)."""
        return self.gross_savings - self.investment

    def beds(self, occupancy: float) -> np.ndarray:
        """Acute beds needed at ``occupancy`` (bed days / 365 / occupancy), (R, T)."""
        return self.bed_days / (365.0 * occupancy)

    @property
    def pv_savings(self) -> np.ndarray:
        """Present value of gross savings, (R,)."""
        return economics.npv(self.gross_savings, self.discount_rate)

    @property
    def pv_investment(self) -> np.ndarray:
        """Present value of investment, (R,)."""
        return economics.npv(self.investment, self.discount_rate)

    @property
    def npv(self) -> np.ndarray:
        """Net present value of the net benefit, (R,)."""
        return economics.npv(self.net_benefit, self.discount_rate)

    @property
    def roi(self) -> np.ndarray:
        """(PV savings - PV investment) / PV investment, (R,)."""
        return economics.roi(self.pv_savings, self.pv_investment)

    @property
    def payback_year(self) -> np.ndarray:
        """Year from which cumulative discounted net benefit stays >= 0 (inf: never)."""
        return economics.payback_year(self.net_benefit, self.discount_rate)


def _per_year(values: list[float] | float, years: int, start: int) -> np.ndarray:
    """A yearly schedule from ``start`` (1-based); a short list carries its last value."""
    vals = [values] if isinstance(values, int | float) else list(values)
    out = np.zeros(years)
    for t in range(start - 1, years):
        k = t - (start - 1)
        out[t] = vals[min(k, len(vals) - 1)]
    return out


class ScenarioModel:
    """A scenario bound to a baseline: parameters, and outputs for any parameter values."""

    def __init__(
        self,
        scenario: Scenario,
        baseline: Baseline,
        projection: dict[tuple[str, str], float] | None = None,
    ) -> None:
        self.scenario = scenario
        self.baseline = baseline
        self.years = scenario.years
        self.rates = projection if scenario.demographic_growth else None
        self.warnings: list[str] = []
        assumptions = default_assumptions()
        self.workforce = assumptions["workforce"]
        growth = {
            k: Range.model_validate(v) for k, v in assumptions["non_demographic_growth"].items()
        }
        growth.update(scenario.non_demographic_growth)
        self.params: list[Param] = []
        self._growth_cols = np.full(len(SETTING_NAMES), -1)
        for s in SETTING_NAMES:
            if s in growth:
                self._growth_cols[S_INDEX[s]] = self._add(
                    f"growth.{s}", f"Non-demographic growth: {SETTINGS[s].label}", growth[s]
                )
        self._project_baseline()
        self.compiled = [self._compile(i) for i in scenario.interventions]

    # -- set-up -------------------------------------------------------------------
    def _add(self, key: str, label: str, r: Range) -> int:
        self.params.append(Param(key, label, r))
        return len(self.params) - 1

    def _project_baseline(self) -> None:
        act = self.baseline.activity
        factors = growth_factors(act, self.rates, self.years)  # (rows, T)
        idx = act["setting"].map(S_INDEX).to_numpy()
        S = len(SETTING_NAMES)
        self.base_count = np.zeros((S, self.years))
        self.base_beds = np.zeros((S, self.years))
        self.base_cost = np.zeros((S, self.years))
        for arr, col in (
            (self.base_count, "count"),
            (self.base_beds, "bed_days"),
            (self.base_cost, "cost"),
        ):
            np.add.at(arr, idx, act[col].to_numpy(dtype=float)[:, None] * factors)

    def _compile(self, iv: Intervention) -> _Compiled:
        T, S = self.years, len(SETTING_NAMES)
        default_cost = np.array([SETTINGS[s].unit_cost for s in SETTING_NAMES])
        rate, los, unit_cost = np.zeros(S), np.zeros(S), default_cost.copy()
        profile: CohortProfile | None = self.baseline.cohorts.get(iv.name)
        warnings: list[str] = []
        if iv.cohort.rates is not None:
            eligible = np.full(T, np.inf)
            for s, v in iv.cohort.rates.items():
                rate[S_INDEX[s]] = v
        elif profile is None:
            raise ValueError(f"no cohort profile for intervention {iv.name!r} in the baseline")
        else:
            pop = profile.population
            eligible = growth_factors(pop, self.rates, T).T @ pop["people"].to_numpy(float)
            people = float(pop["people"].sum())
            by = profile.activity.groupby("setting")[["count", "bed_days", "cost"]].sum()
            for s, row in by.iterrows():
                i = S_INDEX[s]
                rate[i] = row["count"] / people if people else 0.0
                if row["count"] > 0:
                    unit_cost[i] = row["cost"] / row["count"]
                    los[i] = row["bed_days"] / row["count"]
            if people == 0:
                warnings.append(f"{iv.name}: the cohort is empty in the baseline year")
        for s, v in (iv.cohort.unit_costs or {}).items():
            unit_cost[S_INDEX[s]] = v
        for s, v in (iv.cohort.mean_los or {}).items():
            los[S_INDEX[s]] = v
        up = iv.uptake
        if up.members is not None:
            members = _per_year(up.members, T, iv.start_year)
        else:
            members = _per_year(up.share, T, iv.start_year) * np.where(
                np.isfinite(eligible), eligible, 0.0
            )
        over = members > eligible + 1e-9
        if over.any():
            warnings.append(
                f"{iv.name}: planned members exceed the eligible cohort "
                f"({members.max():,.0f} > {eligible.min():,.0f}); capped at the cohort"
            )
            members = np.minimum(members, eligible)
        active = np.arange(1, T + 1) >= iv.start_year
        self.warnings.extend(warnings)
        c = _Compiled(iv, members, eligible, rate, unit_cost, los, active, warnings)
        n = iv.name
        c.p_achieved = self._add(f"{n}.uptake", f"{n}: uptake achieved", up.achieved)
        c.p_effects = [
            self._add(
                f"{n}.effect.{e.setting}.{k}",
                f"{n}: change in {SETTINGS[e.setting].label}",
                e.change,
            )
            for k, e in enumerate(iv.effects)
        ]
        c.p_shifts = [
            self._add(
                f"{n}.shift.{k}",
                f"{n}: share {sh.from_setting} to {sh.to}",
                sh.share if sh.share is not None else Range.model_validate(1.0),
            )
            for k, sh in enumerate(iv.shifts)
        ]
        c.p_los = [
            self._add(f"{n}.los.{k}", f"{n}: change in stay ({lc.setting}, days)", lc.change_days)
            for k, lc in enumerate(iv.los_changes)
        ]
        co = iv.costs
        c.p_setup = self._add(f"{n}.cost.setup", f"{n}: set-up cost", co.setup)
        c.p_per_person = self._add(f"{n}.cost.per_person", f"{n}: cost per member", co.per_person)
        c.p_fixed = self._add(f"{n}.cost.fixed", f"{n}: fixed cost a year", co.fixed_per_year)
        c.p_staff = [
            (
                self._add(
                    f"{n}.staff.{k}.wte",
                    f"{n}: {st.role} WTE",
                    st.wte_per_1000_members if st.wte is None else st.wte,
                ),
                self._add(f"{n}.staff.{k}.cost", f"{n}: {st.role} cost per WTE", st.cost_per_wte),
            )
            for k, st in enumerate(co.staff)
        ]
        return c

    # -- parameters ---------------------------------------------------------------
    def central(self, runs: int = 1) -> np.ndarray:
        """The central value of every parameter (runs x parameters)."""
        return np.tile([p.range.central for p in self.params], (runs, 1)).astype(float)

    def sample(self, runs: int, seed: int) -> np.ndarray:
        """``runs`` reproducible draws of every parameter."""
        return sample(self.params, runs, seed)

    # -- arithmetic -----------------------------------------------------------------
    def evaluate(self, X: np.ndarray) -> Outputs:
        """All outputs for parameter values ``X`` (runs x parameters)."""
        R, T, S = X.shape[0], self.years, len(SETTING_NAMES)
        t = np.arange(1, T + 1)
        g = np.zeros((R, S))
        has = self._growth_cols >= 0
        g[:, has] = X[:, self._growth_cols[has]]
        G = (1.0 + g)[:, :, None] ** t[None, None, :]  # (R, S, T)
        base_count = self.base_count[None] * G
        base_beds = self.base_beds[None] * G
        base_cost = self.base_cost[None] * G
        dcount = np.zeros((R, S, T))
        dbeds = np.zeros((R, S, T))
        dcost = np.zeros((R, S, T))
        ob = self.scenario.optimism_bias
        bdc = bed_day_cost()
        invest_total = np.zeros((R, T))
        staff_wte: dict[str, np.ndarray] = {}
        savings_by, invest_by = {}, {}
        for c in self.compiled:
            iv = c.spec
            M = c.members[None, :] * X[:, [c.p_achieved]]  # (R, T)
            use = M[:, None, :] * c.rate[None, :, None] * G  # (R, S, T) members' use
            e = np.zeros((R, S))
            for j, eff in zip(c.p_effects, iv.effects, strict=True):
                e[:, S_INDEX[eff.setting]] += X[:, j]
            e = np.maximum(e, -1.0)
            dc = use * e[:, :, None]
            ic = dc * c.unit_cost[None, :, None]
            ib = dc * c.los[None, :, None]
            remaining = use + dc
            for j, lc in zip(c.p_los, iv.los_changes, strict=True):
                i = S_INDEX[lc.setting]
                extra = remaining[:, i, :] * X[:, [j]]
                ib[:, i, :] += extra
                ic[:, i, :] += extra * bdc
            icount = dc.copy()
            for j, sh in zip(c.p_shifts, iv.shifts, strict=True):
                a, b = S_INDEX[sh.from_setting], S_INDEX[sh.to]
                if sh.units is not None:
                    moved = (
                        np.broadcast_to(_per_year(sh.units, T, iv.start_year), (R, T)) * X[:, [j]]
                    )
                elif sh.basis == "bed_days":
                    moved = (remaining[:, a, :] * c.los[a]) * X[:, [j]]
                else:
                    moved = remaining[:, a, :] * X[:, [j]]
                if sh.basis == "bed_days":
                    ib[:, a, :] -= moved
                    ic[:, a, :] -= moved * bdc
                else:
                    icount[:, a, :] -= moved
                    ib[:, a, :] -= moved * c.los[a]
                    ic[:, a, :] -= moved * c.unit_cost[a]
                recv = moved * sh.ratio
                icount[:, b, :] += recv
                ic[:, b, :] += recv * c.unit_cost[b]
                if SETTINGS[sh.to].hospital_beds:
                    ib[:, b, :] += recv * c.los[b]
            dcount += icount
            dbeds += ib
            dcost += ic
            # Investment.
            co = iv.costs
            setup = np.zeros((R, T))
            setup_t = iv.start_year + co.setup_year - 2
            if setup_t < T:
                setup[:, setup_t] = X[:, c.p_setup]
            act = c.active[None, :].astype(float)
            inv = setup + M * X[:, [c.p_per_person]] + act * X[:, [c.p_fixed]]
            for (jw, jc), st in zip(c.p_staff, co.staff, strict=True):
                # Per 1,000 members, or a fixed establishment while the service runs.
                wte = M / 1000.0 * X[:, [jw]] if st.wte is None else act * X[:, [jw]]
                inv = inv + wte * X[:, [jc]]
                role = st.role + (f" ({st.grade})" if st.grade else "")
                staff_wte[role] = staff_wte.get(role, 0.0) + wte
            inv = inv * (1.0 + ob.costs)
            invest_total += inv
            invest_by[iv.name] = inv
            savings_by[iv.name] = -ic.sum(axis=1) * (1.0 - ob.benefits)
        negative = (base_count + dcount < -1e-6).any(axis=(0, 2))
        for s in np.array(SETTING_NAMES)[negative]:
            msg = (
                f"{s}: interventions remove more activity than the projection has in some "
                "runs; clipped at zero (is the population too small for the plan?)"
            )
            if msg not in self.warnings:
                self.warnings.append(msg)
        count = np.maximum(base_count + dcount, 0.0)
        beds_s = np.maximum(base_beds + dbeds, 0.0)
        cost_s = np.maximum(base_cost + dcost, 0.0)
        bed_days = beds_s[:, BED_SETTINGS, :].sum(axis=1)
        base_bed_days = base_beds[:, BED_SETTINGS, :].sum(axis=1)
        cost = cost_s.sum(axis=1)
        base_cost_t = base_cost.sum(axis=1)
        gross = (base_cost_t - cost) * (1.0 - ob.benefits)
        wte_by_role = self._wte(count, bed_days)
        for role, w in staff_wte.items():
            wte_by_role[role] = wte_by_role.get(role, 0.0) + w
        wte = sum(wte_by_role.values()) if wte_by_role else np.zeros((R, T))
        return Outputs(
            count,
            base_count,
            bed_days,
            base_bed_days,
            cost,
            base_cost_t,
            invest_total,
            gross,
            wte,
            wte_by_role,
            savings_by,
            invest_by,
            self.scenario.discount_rate,
        )

    def _wte(self, count: np.ndarray, bed_days: np.ndarray) -> dict[str, np.ndarray]:
        """Whole-time equivalents by role from activity and productivity ratios."""
        out: dict[str, np.ndarray] = {}
        for key, spec in self.workforce.items():
            role, per = spec["role"], float(spec["units_per_wte"])
            units = bed_days if key == "hospital_bed_day" else count[:, S_INDEX[key], :]
            out[role] = out.get(role, 0.0) + units / per
        return out

    # -- runs -----------------------------------------------------------------------
    def run(self, runs: int = 1000, seed: int = 42) -> Outputs:
        """The Monte Carlo: ``runs`` seeded draws of every parameter, evaluated at once."""
        return self.evaluate(self.sample(runs, seed))

    def tornado(self, metric: str = "npv") -> list[dict]:
        """One-way sensitivity of ``metric``: each uncertain input at its low and high.

        Every other input is held at its central value. Sorted by swing, largest first;
        inputs that do not move it are left out.
        """
        unc = [j for j, p in enumerate(self.params) if p.range.uncertain]
        X = self.central(1 + 2 * len(unc))
        for k, j in enumerate(unc):
            X[1 + 2 * k, j] = self.params[j].range.low
            X[2 + 2 * k, j] = self.params[j].range.high
        values = getattr(self.evaluate(X), metric)
        rows = []
        for k, j in enumerate(unc):
            p = self.params[j]
            lo, hi = float(values[1 + 2 * k]), float(values[2 + 2 * k])
            rows.append(
                {
                    "parameter": p.key,
                    "label": p.label,
                    "low": p.range.low,
                    "high": p.range.high,
                    "value_at_low": lo,
                    "value_at_high": hi,
                    "central": float(values[0]),
                    "swing": abs(hi - lo),
                }
            )
        return sorted((r for r in rows if r["swing"] > 0), key=lambda r: -r["swing"])
