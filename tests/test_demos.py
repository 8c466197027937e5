"""Each classroom demo's claims, checked by running it (seeded, small, on the CPU).

A claim (core.lab.presets.Claim) is a number measured from the demo's runs and the least it must reach.
Seeded runs agree on one CPU only, so thresholds sit below the lowest value measured over several
seeds (`python -m bench.demos --seeds 6` prints each claim's mean, min and max), and a demo whose
single seeds are fragile is judged on the mean over its `claim_seeds`. A demo is tuned until its
effect is clear, never a threshold until it passes.
"""
from functools import cache

import pytest

from core.lab.presets import DEMO_IDS, PRESETS, run_preset

pytestmark = pytest.mark.demo


@cache
def runs_of(preset_id: str, seed: int) -> dict:
    return dict(run_preset(preset_id, seed=seed))


def test_every_demo_has_a_watch_for_paragraph_runs_to_compare_and_claims():
    for pid in DEMO_IDS:
        p = PRESETS[pid]
        assert len(p.runs) >= 2 and len(p.watch_for) > 100 and p.claims and p.claim_seeds, pid


@pytest.mark.parametrize("preset_id", DEMO_IDS)
def test_demo_claims_hold_on_the_mean_over_seeds(preset_id):
    preset = PRESETS[preset_id]
    per_seed = [runs_of(preset_id, seed) for seed in preset.claim_seeds]
    failed = []
    for claim in preset.claims:
        ok, value = claim.holds(per_seed)
        if not ok:
            values = [round(claim.measure(runs), 3) for runs in per_seed]
            failed.append(f"{claim.says}: mean {value:.3g} {claim.unit} < {claim.at_least:g} (per seed {values})")
    assert not failed, "\n".join(failed)


def test_layer_choices_train_nested_parameter_sets():
    runs = runs_of("layers-compare", PRESETS["layers-compare"].claim_seeds[0])
    counts = [runs[label].final.trainable_params for label in ("head only", "last two stages", "all layers")]
    assert counts == sorted(set(counts)), counts


def test_early_stopping_hands_back_an_earlier_epoch():
    runs = runs_of("overfit-tiny", PRESETS["overfit-tiny"].claim_seeds[0])
    stopped = runs["early stopping"]
    assert stopped.reason == "early_stopped" and stopped.best_epoch < len(stopped.epochs) < len(runs["no remedy"].epochs)
