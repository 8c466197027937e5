"""Flashcards: one card at a time, flip to check yourself, mark it known or not yet.

Cards marked "Not yet" come first the next time the deck is dealt, so practice goes where it is needed.
A card can be marked only once its back was seen (a mark is a check, not a guess). Every button has a
one-key shortcut, so a deck can be worked through from the keyboard alone.
"""

import random

import streamlit as st

from ui.common import current_learner
from ui.lesson_widgets import badge, by_level, lessons, level_filter, store_call

S = st.session_state
L = lessons()

st.title("🃏 Flashcards")
st.caption("Say the answer out loud before you flip. Then be honest: *Know it* or *Not yet*.")
# Letters, not arrows: arrow keys belong to the level picker and to scrolling. C and R are Streamlit's.
KEYS = {
    "card_flip": "F",
    "card_known": "K",
    "card_not_yet": "N",
    "card_prev": "P",
    "card_next": "J",
    "card_shuffle": "S",
}
st.caption(
    f"Keyboard: **{KEYS['card_flip']}** flip · **{KEYS['card_known']}** know it · "
    f"**{KEYS['card_not_yet']}** not yet · **{KEYS['card_prev']}** previous · "
    f"**{KEYS['card_next']}** next · **{KEYS['card_shuffle']}** shuffle"
)


def statuses() -> dict:
    """card id -> True (known) / False (not yet); stored values, overlaid by this session's marks."""
    stored = store_call("card_statuses", current_learner(), default={})
    return {**stored, **S.setdefault("card_marks", {})}


def deal(cards: list, status: dict) -> list:
    # Not yet first, then never marked, then known; lesson order within each group.
    rank = {False: 0, None: 1, True: 2}
    return [c.id for c in sorted(cards, key=lambda c: rank[status.get(c.id)])]


level = level_filter("card_level")
deck = by_level(L.cards, level)
status = statuses()
if not deck:
    st.info("No cards at this level yet. Pick another level.")
    st.stop()

if S.get("card_deck_level") != level or "card_order" not in S:
    S.card_deck_level = level
    S.card_order = deal(deck, status)
    S.card_pos, S.card_flipped = 0, False

cards = {c.id: c for c in deck}
order = [cid for cid in S.card_order if cid in cards]
S.card_pos %= len(order)
card = cards[order[S.card_pos]]

known = sum(1 for cid in cards if status.get(cid) is True)
st.progress(known / len(cards), text=f"Known: {known} of {len(cards)} cards")


def move(step: int) -> None:
    S.card_pos = (S.card_pos + step) % len(order)
    S.card_flipped = False


def mark(card_id: str, is_known: bool) -> None:
    if not S.card_flipped:  # the buttons are disabled too; this guards a stale click
        return
    S.card_marks[card_id] = is_known
    store_call("set_card_status", current_learner(), card_id, is_known)
    move(1)


def shuffle() -> None:
    random.shuffle(S.card_order)
    S.card_pos, S.card_flipped = 0, False


def flip() -> None:
    S.card_flipped = not S.card_flipped


with st.container(border=True):
    mark_text = {True: "✅ known", False: "🔁 not yet", None: "new"}[status.get(card.id)]
    st.caption(f"Card {S.card_pos + 1} of {len(order)} · {mark_text}")
    st.markdown(f"### {card.front}")
    st.markdown(badge(card.level))
    if S.card_flipped:
        st.divider()
        st.markdown(card.back)

# Callbacks (on_click) change state before the rerun, so the page never shows a stale card.
st.button(
    "Hide answer" if S.card_flipped else "Flip",
    key="card_flip",
    on_click=flip,
    type="primary",
    shortcut=KEYS["card_flip"],
)
if not S.card_flipped:
    st.caption("Flip the card to mark it: *Know it* and *Not yet* need its answer seen first.")
cols = st.columns(5)
cols[0].button("⬅ Previous", key="card_prev", on_click=move, args=(-1,), shortcut=KEYS["card_prev"])
cols[1].button("Next ➡", key="card_next", on_click=move, args=(1,), shortcut=KEYS["card_next"])
cols[2].button(
    "✅ Know it",
    key="card_known",
    on_click=mark,
    args=(card.id, True),
    disabled=not S.card_flipped,
    shortcut=KEYS["card_known"],
)
cols[3].button(
    "🔁 Not yet",
    key="card_not_yet",
    on_click=mark,
    args=(card.id, False),
    disabled=not S.card_flipped,
    shortcut=KEYS["card_not_yet"],
)
cols[4].button("🔀 Shuffle", key="card_shuffle", on_click=shuffle, shortcut=KEYS["card_shuffle"])
