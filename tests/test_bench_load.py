"""The load benches' own arithmetic: what counts as a chart update gap, a finished job, a pass.

The benches themselves start servers and take minutes (bench/README.md); a wrong gap window or a
lenient verdict would quietly report a PASS, so these parts are checked here on their own.
"""
from types import SimpleNamespace

from bench.browser_session import FragmentTick
from bench.load_test import chart_gaps, job_finished, p95, verdicts


def _tab(ticks):
    return SimpleNamespace(fragment_ticks=[FragmentTick(at, charts, progress, []) for at, charts, progress in ticks])


def test_chart_gaps_count_only_while_the_job_runs_and_up_to_its_end():
    tab = _tab([
        (1.0, 4, []),  # queued: charts drawn, no progress bar yet -> not counted
        (2.0, 4, ["preparing data, model and feature cache…"]),  # running from here
        (3.0, 4, ["epoch 1/1"]),
        (6.5, 0, ["epoch 1/1"]),  # a tick without charts does not end a gap
        (7.0, 4, ["epoch 1/1"]),
    ])
    assert chart_gaps(tab, job_end=8.0, started=0.5) == [0.0, 1.0, 4.0, 1.0]


def test_a_job_no_tick_saw_training_counts_its_wait_from_the_last_tick_before_its_end():
    # Queued at the ticks of 1.0 and 2.0, then trained and ended at 2.6 between two ticks.
    assert chart_gaps(_tab([(1.0, 4, []), (2.0, 0, []), (3.0, 0, [])]), job_end=2.6, started=0.4) == [0.6000000000000001]
    # No tick at all between Start's page run (ended at 0.4) and the end at 3.1: a 2.7 s wait, not "no gap".
    gaps = chart_gaps(_tab([(3.5, 0, [])]), job_end=3.1, started=0.4)
    assert [round(g, 2) for g in gaps] == [2.7]


def test_a_run_at_chance_finished_but_a_diverged_one_did_not():
    assert job_finished(("SUCCESS", "finished 1 epochs: final validation accuracy **60.0%**"))
    assert job_finished(("ERROR", "about chance: validation accuracy 50.0%, and guessing among 2 classes"))
    assert not job_finished(("ERROR", "the run diverged. Loss became NaN."))
    assert not job_finished(("TIMEOUT", "no outcome within 540 s"))


def _figures(**changes):
    fig = {"lesson_median_s": 1.0, "lesson_p95_s": 3.0, "lab_max_s": 9.0, "chart_gap_max_s": 1.5, "errors": 0,
           "jobs_started": 4, "jobs_finished": 4, "answers_submitted": 78, "answers_stored": 78,
           "answers_expected": 78}
    return {**fig, **changes}


def test_every_target_passes_at_its_limit_and_fails_past_it():
    args = SimpleNamespace(jobs=4)
    assert all(ok for _, _, ok in verdicts(_figures(), args))
    failing = {"lesson_median_s": 1.6, "lesson_p95_s": 4.1, "lab_max_s": 10.5, "chart_gap_max_s": 2.1, "errors": 1,
               "jobs_finished": 3, "answers_stored": 77}
    for key, value in failing.items():
        rows = verdicts(_figures(**{key: value}), args)
        assert [label for label, _, ok in rows if not ok], f"{key}={value} passed"


def test_no_chart_measured_is_a_failure_not_a_pass():
    rows = dict((label, ok) for label, _, ok in verdicts(_figures(chart_gap_max_s=None), SimpleNamespace(jobs=4)))
    assert rows["live chart update interval, longest (s)"] is False


def test_p95_is_the_nearest_rank_even_for_few_values():
    assert p95([1.0, 9.0]) == 9.0
    assert p95([float(i) for i in range(1, 101)]) == 95.0
    assert p95([]) == 0.0


def test_a_tab_ticks_its_fragments_for_the_page_navigation_chose_not_the_main_script():
    # A run asked for by page name announces the main script's hash in new_session; the page is
    # in the navigation message. A fragment tick (and the st.rerun it may call) must name the page.
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    from bench.browser_session import Tab

    tab = Tab("http://127.0.0.1:1", "b")
    started, nav = ForwardMsg(), ForwardMsg()
    started.new_session.page_script_hash = "main-script"
    nav.navigation.page_script_hash = "lab-page"
    tab._handle(started)
    tab._handle(nav)
    assert tab.page_hash == "lab-page"


def test_a_live_chart_sent_a_figure_counts_as_a_chart_redraw_and_an_empty_one_does_not():
    # The live view draws its charts with ui/live_chart.py's component, not st.plotly_chart.
    import json

    from streamlit.proto.Element_pb2 import Element

    from bench.browser_session import is_chart
    from ui.live_chart import COMPONENT_NAME

    def live(data) -> Element:
        el = Element()
        el.bidi_component.component_name = COMPONENT_NAME
        el.bidi_component.json = json.dumps(data)
        return el

    assert is_chart("bidi_component", live({"figure": '{"data": [], "layout": {}}', "alt": "Loss"}))
    assert not is_chart("bidi_component", live({"figure": None}))
    assert is_chart("plotly_chart", Element())
    assert not is_chart("markdown", Element())
