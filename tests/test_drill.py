"""The outage drill (benchmarks/drill.py): its summary, its verdict and its private cluster.

The whole drill takes more than a minute (migrations, official territories): it is run by hand
(docs/operations.md « Outage drill »); here only its parts.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from benchmarks.drill import PG_BIN, Outcome, PrivateCluster, summarise, verdict_lines
from benchmarks.runner import free_port


def outcome(started, status, ended=None):
    return Outcome("liste", started, started + 0.1 if ended is None else ended, status)


def test_requests_are_counted_by_the_moment_they_start():
    outcomes = [
        outcome(1, "200"),
        outcome(9.9, "500", ended=10.5),  # started before the stop: outside
        outcome(10, "503"),
        outcome(15, "réponse tronquée"),
        outcome(20, "503", ended=20.4),  # started before the restart ended: during
        outcome(20.5, "500"),
        outcome(21, "200", ended=21.3),
    ]
    summary = summarise(outcomes, outage_start=10, outage_end=20.5)
    assert summary["during"] == {"503": 2, "réponse tronquée": 1}
    assert summary["outside"] == {"200": 2, "500": 2}
    assert summary["errors_after_restart"] == 1
    assert summary["last_error_after_restart_s"] == pytest.approx(0.1)
    assert summary["recovery_s"] == pytest.approx(0.8)
    text = "\n".join(verdict_lines(summary, acknowledged=0, lost=0))
    assert "Erreurs après le redémarrage de la base : 1 (la dernière finie 0.1 s après)" in text


def test_the_slowest_answers_during_the_outage_are_reported_apart_for_health():
    outcomes = [
        outcome(9, "200", ended=12),  # started before: outside
        outcome(11, "503", ended=12.9),
        Outcome("santé", 12, 12.8, "503"),
        outcome(21, "200", ended=25),  # after
    ]
    summary = summarise(outcomes, outage_start=10, outage_end=20)
    assert summary["slowest_during_s"] == {"pages": pytest.approx(1.9), "santé": pytest.approx(0.8)}
    text = "\n".join(verdict_lines(summary, acknowledged=1, lost=0))
    assert "pages 1.90 s (cible ≤ 2 s), /sante/ 0.80 s (cible ≤ 1 s)" in text


def test_no_success_after_the_restart_means_no_recovery():
    summary = summarise([outcome(1, "200"), outcome(25, "500")], 10, 20)
    assert summary["recovery_s"] is None
    text = "\n".join(verdict_lines(summary, acknowledged=3, lost=0))
    assert "première réponse réussie) : aucune réponse réussie" in text


def test_verdict_says_yes_only_for_503_and_200_during_the_outage_and_no_lost_write():
    good = summarise(
        [outcome(12, "503"), outcome(13, "200"), outcome(14, "302"), outcome(21, "200")], 10, 20
    )
    bad = summarise([outcome(12, "503"), outcome(13, "500"), outcome(21, "200")], 10, 20)
    during = "Pendant la coupure : seulement 503 et 200 (302 : écriture acquittée) : "
    assert during + "oui" in verdict_lines(good, 4, 0)
    assert "Aucune écriture acquittée perdue : oui" in verdict_lines(good, 4, 0)
    assert during + "non" in verdict_lines(bad, 4, 0)
    assert "Aucune écriture acquittée perdue : non" in verdict_lines(good, 4, 1)


def test_private_cluster_serves_unaccent_and_stops():
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL 15 absent ({PG_BIN}) : grappe privée non testée.")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("runuser absent : la grappe ne peut pas tourner sous l'utilisateur postgres.")
    import psycopg

    # Not pytest's tmp_path: its parents are private to root, and the cluster runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="catalogue-test-grappe-"))
    cluster = PrivateCluster(root, free_port(), PG_BIN)
    cluster.create()
    cluster.start()
    try:
        assert cluster.running()
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as connection:
            connection.execute("CREATE EXTENSION unaccent")
            assert connection.execute("SELECT unaccent('Coopération')").fetchone() == (
                "Cooperation",
            )
        cluster.stop("immediate")
        assert not cluster.running()
    finally:
        if cluster.running():
            cluster.stop("immediate")
        shutil.rmtree(root)


def test_a_frozen_private_cluster_accepts_connections_and_answers_nothing_until_thawed():
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL 15 absent ({PG_BIN}) : grappe privée non testée.")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("runuser absent : la grappe ne peut pas tourner sous l'utilisateur postgres.")
    import psycopg

    root = Path(tempfile.mkdtemp(prefix="catalogue-test-grappe-"))
    cluster = PrivateCluster(root, free_port(), PG_BIN)
    cluster.create()
    cluster.start()
    try:
        assert len(cluster.processes()) > 1  # the postmaster and its helpers
        cluster.freeze()
        with pytest.raises(psycopg.OperationalError, match="timeout"):
            psycopg.connect(cluster.url("postgres"), connect_timeout=2)
        cluster.thaw()
        with psycopg.connect(cluster.url("postgres"), connect_timeout=2) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
    finally:
        cluster.thaw()
        cluster.stop("immediate")
        shutil.rmtree(root)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--pg-bin", "/nulle/part"], "initdb est introuvable dans /nulle/part"),
        (["--outage", "-1"], "--outage doit être positif ou nul"),
        (["--readers", "0"], "--readers et --workers doivent valoir au moins 1"),
    ],
)
def test_bad_drill_options_are_refused_in_french_before_anything_starts(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("outage_drill", *arguments)
