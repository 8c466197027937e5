"""core.content.browse: which item a Concepts/Pitfalls link shows, and its previous/next neighbours."""

import pytest

from core.content.browse import locate, normalise_id
from core.content.lessons import load_lessons

ORDER = ["a", "b", "c"]


def test_no_request_shows_the_first_item_with_no_previous():
    place = locate(ORDER, None)
    assert (place.current, place.position, place.total) == ("a", 1, 3)
    assert place.previous is None and place.next == "b" and place.unknown is None
    assert place.is_first and not place.is_last


def test_a_middle_item_has_both_neighbours():
    place = locate(ORDER, "b")
    assert (place.previous, place.current, place.next, place.position) == ("a", "b", "c", 2)


def test_the_last_item_has_no_next():
    place = locate(ORDER, "c")
    assert place.next is None and place.previous == "b" and place.is_last


@pytest.mark.parametrize("raw", ["zz", "#zz", " ZZ "])
def test_an_unknown_id_gives_the_first_item_and_names_the_id(raw):
    place = locate(ORDER, raw)
    assert place.current == "a" and place.unknown == "zz"


@pytest.mark.parametrize("raw,expected", [("#b", "b"), (" B ", "b"), ("b", "b"), ("", None), ("#", None), (None, None)])
def test_old_anchors_and_stray_case_still_name_their_item(raw, expected):
    assert normalise_id(raw) == expected
    if expected:
        assert locate(ORDER, raw).current == expected


def test_an_extra_page_sits_outside_the_stepping_order():
    place = locate(ORDER, "key-takeaways", extras=["key-takeaways", "use-cases"])
    assert place.current == "key-takeaways" and place.position is None
    assert place.previous is None and place.next is None and place.unknown is None


def test_nothing_to_show():
    place = locate([], "a")
    assert place.current is None and place.total == 0 and place.unknown == "a"
    assert locate([], None).unknown is None


def test_stepping_visits_every_real_concept_and_pitfall_once_in_lesson_order():
    lessons = load_lessons()
    for items in (lessons.concepts, lessons.pitfalls):
        order = [item.id for item in items]
        seen, place = [], locate(order, None)
        while place.current is not None:
            seen.append(place.current)
            if place.next is None:
                break
            place = locate(order, place.next)
        assert seen == order
