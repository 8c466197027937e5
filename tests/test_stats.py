"""core.runs.stats: the Wilson interval against published and hand-computed figures, and what it implies."""
import math

import pytest

from core.runs.stats import (
    Accuracy,
    compare,
    images_needed,
    resolvable_difference,
    too_small_warning,
    versus_best,
    wilson,
    within_noise,
)

# Newcombe (1998), "Two-sided confidence intervals for the single proportion", Statistics in Medicine
# 17:857-872, Table I, method 3 (Wilson score interval without continuity correction).
NEWCOMBE = [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)]


@pytest.mark.parametrize("k, n, low, high", NEWCOMBE)
def test_wilson_matches_newcombes_table(k, n, low, high):
    got = wilson(k / n, n)
    assert got == pytest.approx((low, high), abs=5e-5)


def test_wilson_by_hand_eight_of_ten():
    # z^2 = 3.8415; centre = (0.8 + 0.19207) / 1.38415 = 0.71674;
    # half = 1.96 * sqrt(0.016 + 0.0096037) / 1.38415 = 0.22658  ->  0.4902 to 0.9433
    assert wilson(0.8, 10) == pytest.approx((0.4902, 0.9433), abs=5e-5)


def test_wilson_stays_inside_and_keeps_width_at_the_ends():
    low, high = wilson(1.0, 20)
    assert high == 1.0 and low == pytest.approx(0.8389, abs=5e-5)  # not "100% ± 0"
    assert wilson(0.0, 20)[0] == 0.0


def test_wilson_narrows_as_the_set_grows():
    widths = [wilson(0.9, n)[1] - wilson(0.9, n)[0] for n in (30, 300, 3000)]
    assert widths[0] > widths[1] > widths[2]
    assert widths[1] / widths[2] == pytest.approx(math.sqrt(10), rel=0.05)  # width ~ 1/sqrt(n)


@pytest.mark.parametrize("p, n", [(0.5, 0), (0.5, -3), (1.2, 10), (-0.1, 10)])
def test_wilson_refuses_nonsense_with_a_reason(p, n):
    with pytest.raises(ValueError, match="validation image|between 0 and 1"):
        wilson(p, n)


def test_accuracy_from_a_rate_counts_whole_images():
    a = Accuracy.of(0.87, 300)
    assert (a.correct, a.n) == (261, 300)
    assert a.band() == "83–90%"
    assert a.words().startswith("87.0% (95% interval 82.7–90.3%, 300 validation images")


def test_two_points_apart_on_300_images_is_within_noise_and_twelve_is_not():
    assert within_noise(Accuracy.of(0.87, 300), Accuracy.of(0.85, 300))
    assert not within_noise(Accuracy.of(0.97, 300), Accuracy.of(0.85, 300))
    # the same 2 points on 20,000 images each is a real difference
    assert not within_noise(Accuracy.of(0.87, 20000), Accuracy.of(0.85, 20000))


def test_compare_says_within_noise_or_names_the_winner():
    assert "within noise" in compare("a", Accuracy.of(0.85, 300), "b", Accuracy.of(0.87, 300))
    text = compare("a", Accuracy.of(0.85, 300), "b", Accuracy.of(0.97, 300))
    assert text.startswith("**b**") and "more than noise" in text and "12.0 points" in text


def test_images_needed_is_the_smallest_set_that_separates():
    for acc, diff in ((0.9, 0.05), (0.5, 0.05), (0.7, 0.10)):
        n = images_needed(acc, diff)
        lo, hi = acc - diff / 2, acc + diff / 2
        assert wilson(lo, n)[1] < wilson(hi, n)[0]
        assert wilson(lo, n - 1)[1] >= wilson(hi, n - 1)[0]
    # normal approximation: n ~ (z (sqrt(p1 q1) + sqrt(p2 q2)) / d)^2, about 1,537 at 50% +- 2.5 points
    assert images_needed(0.5, 0.05) == pytest.approx((1.96 * 2 * 0.5 / 0.05) ** 2, rel=0.02)


def test_resolvable_difference_is_the_inverse_of_images_needed():
    d = resolvable_difference(0.9, 300)
    assert 0.05 < d < 0.09
    assert images_needed(0.9, d + 1e-6) <= 300 < images_needed(0.9, d - 0.002)
    assert resolvable_difference(0.5, 1) == 1.0  # one image tells nothing apart


def test_warning_only_when_the_set_is_too_small():
    text = too_small_warning(0.9, 300, num_classes=10)
    assert "300 validation images" in text and "554" in text and "56 per class" in text
    assert too_small_warning(0.9, 2000) == ""
    assert too_small_warning(0.9, 0) == ""


def test_versus_best_marks_noise_and_real_gaps_and_skips_unknown_sizes():
    accs = [Accuracy.of(0.85, 300), None, Accuracy.of(0.87, 300), Accuracy.of(0.70, 300)]
    assert versus_best(accs) == ["within noise", "", "best", "17.0 points lower"]
    assert versus_best([Accuracy.of(0.9, 300), None]) == ["", ""]  # nothing to compare with
