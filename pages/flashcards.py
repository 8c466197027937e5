"""Flashcards: one card at a time, flip to check yourself, mark it known or not yet.

Cards marked "Not yet" come first the next time the deck is dealt, so practice goes where it is needed.
Each mark is also a review in the learner's schedule (core/classroom/review.py): the "Due today" deck
deals only the cards whose day has come, each once.
A card can be marked only once its back was seen (a mark is a check, not a guess). Every button has a
one-key shortcut, so a deck can be worked through from the keyboard alone.
"""

import random

import streamlit as st

from core.classroom.review import CARD
from ui.common import current_learner
from ui.lesson_widgets import badge, by_level, lessons, level_filter, store_call
from ui.review_widgets import due_today, review_deck_done

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


def state_keys() -> tuple[str, str]:
    """Session keys of the dealt deck's order and position: the due deck keeps its own."""
    return ("card_due_order", "card_due_pos") if S.get("card_deck") == "due" else ("card_order", "card_pos")


# ?review=due (the links on Home and Progress) opens the due deck; the parameter is used once.
if st.query_params.get("review") == "due":
    del st.query_params["review"]
    S.card_deck = "due"
due = due_today(L)
due_ids = list(due.cards) if due else []
deck_kind = st.radio(
    "Deck",
    ("all", "due"),
    horizontal=True,
    key="card_deck",
    format_func=lambda d: "All cards" if d == "all" else f"Due today ({len(due_ids)})",
    on_change=S.__setitem__,
    args=("card_flipped", False),  # the other deck's card starts face down
)
level = level_filter("card_level", disabled=deck_kind == "due")
status = statuses()
cards = {c.id: c for c in (L.cards if deck_kind == "due" else by_level(L.cards, level))}
if deck_kind == "due":
    # Dealt once, when the deck is opened: a card reviewed now is due another day, and leaves the count.
    if S.get("card_due_dealt") is not True:
        S.card_due_dealt, S.card_due_order, S.card_due_pos, S.card_flipped = True, due_ids, 0, False
        S.card_due_marked = set()
    order = [cid for cid in S.card_due_order if cid in cards]
    if not order or set(order) <= S.card_due_marked:
        review_deck_done(len(set(order) & S.card_due_marked), due)
        st.stop()
    st.progress(
        len(S.card_due_marked) / len(order), text=f"Reviewed: {len(S.card_due_marked)} of {len(order)} due cards"
    )
else:
    S.card_due_dealt = False
    if not cards:
        st.info("No cards at this level yet. Pick another level.")
        st.stop()
    if S.get("card_deck_level") != level or "card_order" not in S:
        S.card_deck_level = level
        S.card_order = deal(list(cards.values()), status)
        S.card_pos, S.card_flipped = 0, False
    order = [cid for cid in S.card_order if cid in cards]
    known = sum(1 for cid in cards if status.get(cid) is True)
    st.progress(known / len(cards), text=f"Known: {known} of {len(cards)} cards")

POS = state_keys()[1]
S[POS] %= len(order)
card = cards[order[S[POS]]]


def move(step: int) -> None:
    """The next (or previous) card; in the due deck, the next one not reviewed yet."""
    order_key, pos_key = state_keys()
    ids = S[order_key]
    for _ in ids:
        S[pos_key] = (S[pos_key] + step) % len(ids)
        if S.get("card_deck") != "due" or ids[S[pos_key]] not in S.card_due_marked:
            break
    S.card_flipped = False


def mark(card_id: str, is_known: bool) -> None:
    if not S.card_flipped:  # the buttons are disabled too; this guards a stale click
        return
    S.card_marks[card_id] = is_known
    store_call("set_card_status", current_learner(), card_id, is_known)
    store_call("record_review", current_learner(), CARD, card_id, is_known)
    if S.get("card_deck") == "due":
        S.card_due_marked.add(card_id)
    move(1)


def shuffle() -> None:
    order_key, pos_key = state_keys()
    random.shuffle(S[order_key])
    S[pos_key], S.card_flipped = 0, False


def flip() -> None:
    S.card_flipped = not S.card_flipped


with st.container(border=True):
    mark_text = {True: "✅ known", False: "🔁 not yet", None: "new"}[status.get(card.id)]
    st.caption(f"Card {S[POS] + 1} of {len(order)} · {mark_text}")
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
