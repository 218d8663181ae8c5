"""Frequently asked questions: find the entry a citizen's short typed question is about.

No external service: the text is normalised like every command (`bot.incoming.normalize`: no
diacritics, đ -> d, lower case) and split into words. An entry's keywords are phrases; each one
found in the text (exactly, or — for phrases of at least `FUZZY_MIN_LENGTH` letters — with a
typo, by `difflib`) covers its words. Once a keyword is found, the words of the entry's question
count as covered too. The score is the share of the text's meaningful words (not `STOPWORDS`)
that are covered, and an entry matches only from `MIN_COVERAGE`. So a short question
("Bao lâu thì có kết quả?") is nearly all keyword and matches, while a narrative (a PAKN typed
outside the flow: "Đèn đường ở ngõ 5 bị hỏng đã 2 tuần, đề nghị sửa") is mostly other words and
never matches because one of its words happens to be a keyword. Texts longer than `MAX_WORDS`
are never questions. A text that is a near copy of an entry's question matches it as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.incoming import normalize
from models import Faq

MAX_WORDS = 20  # a longer message is a narrative, not a question
MIN_COVERAGE = 0.7  # share of the meaningful words a match must explain
FUZZY_MIN_LENGTH = 7  # letters (spaces not counted) a keyword needs before typos are forgiven
FUZZY_RATIO = 0.85  # difflib similarity a typo'd keyword must reach
QUESTION_RATIO = 0.85  # difflib similarity of a text that copies an entry's question
KEYWORD_SEPARATORS = re.compile(r"[,;\n]+")

# Words that carry no topic (normalised): politeness, pronouns, question words, particles. Words
# whose bare form is also a common topic word are left out (đang/đăng ký, cần/cán bộ, đây/dây).
# fmt: off
STOPWORDS = frozenset({
    "a", "ah", "ai", "anh", "ba", "bao", "biet", "cac", "chao", "chi", "cho", "co", "cua", "de",
    "duoc", "em", "gi", "giup", "hoi", "khong", "ko", "la", "lam", "long", "minh", "mot", "muon",
    "nao", "nay", "nha", "nhe", "nhieu", "nhu", "nhung", "o", "oi", "ong", "sao", "the", "thi",
    "toi", "va", "vay", "voi", "vui", "xin",
})
# fmt: on


@dataclass(frozen=True)
class Match:
    """The entry found and how well it explains the text (0–1)."""

    faq: Faq
    score: float


def split_keywords(raw: str) -> list[str]:
    """The keyword phrases of a keywords field (separated by commas, semicolons or lines)."""
    return [phrase.strip() for phrase in KEYWORD_SEPARATORS.split(raw) if phrase.strip()]


def is_searchable(keyword: str) -> bool:
    """True when `keyword` has a word that is not a stopword (otherwise it can never match)."""
    return any(word not in STOPWORDS for word in normalize(keyword).split())


def find(session: Session, text: str) -> Faq | None:
    """The active entry that answers `text`, or None when none does (or the text is a narrative)."""
    faqs = session.scalars(select(Faq).where(Faq.active).order_by(Faq.sort_order, Faq.id)).all()
    match = best_match(faqs, text)
    return match.faq if match is not None else None


def best_match(faqs: list[Faq], text: str) -> Match | None:
    """The best-scoring entry among `faqs` (earlier entries win ties), if it scores enough."""
    words = normalize(text).split()
    if not words or len(words) > MAX_WORDS:
        return None
    best: Match | None = None
    for faq in faqs:
        value = score(words, faq)
        if value >= MIN_COVERAGE and (best is None or value > best.score):
            best = Match(faq, value)
    return best


def score(words: list[str], faq: Faq) -> float:
    """The share of the meaningful `words` that `faq` explains (1.0 for a copy of its question)."""
    meaningful = {i for i, word in enumerate(words) if word not in STOPWORDS}
    if not meaningful:
        return 0.0
    question = normalize(faq.question).split()
    if _similar(" ".join(words), " ".join(question)) >= QUESTION_RATIO:
        return 1.0
    covered: set[int] = set()
    for keyword in split_keywords(faq.keywords):
        covered |= _find_phrase(words, normalize(keyword).split())
    if not covered & meaningful:
        return 0.0
    # A keyword anchors the topic; then the question's own words explain the rest of the text.
    question_words = set(question)
    covered |= {i for i, word in enumerate(words) if word in question_words}
    return len(covered & meaningful) / len(meaningful)


def _find_phrase(words: list[str], phrase: list[str]) -> set[int]:
    """The positions in `words` covered by `phrase`: exact runs, or near ones for long phrases."""
    size = len(phrase)
    if size == 0:
        return set()
    covered: set[int] = set()
    for start in range(len(words) - size + 1):
        if words[start : start + size] == phrase:
            covered.update(range(start, start + size))
    target = "".join(phrase)
    if covered or len(target) < FUZZY_MIN_LENGTH:
        return covered
    # A typo may also split or join words ("ketqua"), so windows one word shorter or longer count.
    for window in {max(size - 1, 1), size, size + 1}:
        for start in range(len(words) - window + 1):
            if _similar("".join(words[start : start + window]), target) >= FUZZY_RATIO:
                covered.update(range(start, start + window))
    return covered


def _similar(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b, autojunk=False).ratio()
