"""The shipped QOF rules and code lists: they parse, cover every condition, and say where
every cluster came from."""

from __future__ import annotations

import hashlib
import re

import pytest
import yaml

from joinedup.derived.registers import default_rules_folder, load_rules
from joinedup.schema import codes

pytestmark = pytest.mark.unit

FOLDER = default_rules_folder()
CLUSTERS = yaml.safe_load((FOLDER / "clusters.yaml").read_text())["clusters"]


def test_the_shipped_rules_parse():
    rules = load_rules()
    assert rules.code_system == "snomed"
    assert rules.version
    assert rules.rules and rules.clusters
    for cluster in rules.clusters.values():
        assert all(code.isdigit() for code in cluster.codes), cluster.name


def test_every_condition_has_a_rule_or_a_reason_it_is_not_derived():
    rules = load_rules()
    assert rules.uncovered == []
    assert set(rules.rules) | set(rules.not_derivable) == set(codes.CONDITION)
    assert not set(rules.rules) & set(rules.not_derivable)
    for condition, reason in rules.not_derivable.items():
        assert len(reason) > 40, condition  # a reason, in words


def test_ages_and_dates_follow_the_condition_code_list():
    # codes.CONDITION names the QOF age limits: the rules must agree
    rules = load_rules()
    for condition, rule in rules.rules.items():
        stated = re.search(r"(\d+)\+\)", codes.CONDITION[condition])
        assert rule.min_age == (int(stated.group(1)) if stated else None), condition
    assert str(rules.rules["depression"].diagnosed_from) == "2006-04-01"


def test_only_the_clusters_the_rules_use_are_shipped():
    rules = load_rules()
    used = {n for r in rules.rules.values() for n in (*r.diagnosis, *r.resolved)}
    assert used == set(CLUSTERS)
    files = {p.name for p in (FOLDER / "codelists").iterdir()}
    assert files == {entry["file"].split("/")[-1] for entry in CLUSTERS.values()}


@pytest.mark.parametrize("name", sorted(CLUSTERS))
def test_every_cluster_says_where_it_came_from(name):
    entry = CLUSTERS[name]
    data = (FOLDER / entry["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"], "edited since it was copied"
    assert data.decode("utf-8").splitlines()[0] == "code,term"
    assert re.fullmatch(r"999\d{15}", entry["pcd_refset_id"])
    assert re.fullmatch(r"\d{8}|[0-9a-f]{8}", entry["version"])
    slug = name.lower()
    assert entry["opencodelists"].endswith(
        f"/nhsd-primary-care-domain-refsets/{slug}/{entry['version']}/"
    )
    source = entry["source"]
    assert source["path"] == f"codelists/nhsd-primary-care-domain-refsets-{slug}.csv"
    assert re.fullmatch(r"[\w.-]+/[\w.-]+", source["repository"])
    assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])
    assert entry["downloaded"] is not None
