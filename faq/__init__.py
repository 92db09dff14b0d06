"""FAQ knowledge base and matcher (pure Python: no bot, database or network code here)."""

from faq.human import wants_human
from faq.kb import Entry, KBError, KnowledgeBase, SizeChart, dump_kb, load_kb, parse_kb, valid_id
from faq.live import (
    FaqMatcher,
    Learned,
    LearnedEntry,
    LearnedPhrasing,
    LiveMatcher,
    merge_learned,
    phrasing_key,
)
from faq.matcher import Candidate, Matcher, MatchResult, Outcome
from faq.normalize import normalize
from faq.sizing import Measurements, SizeAdvice, parse_measurements, recommend

__all__ = [
    "Candidate",
    "Entry",
    "FaqMatcher",
    "KBError",
    "KnowledgeBase",
    "Learned",
    "LearnedEntry",
    "LearnedPhrasing",
    "LiveMatcher",
    "MatchResult",
    "Matcher",
    "Measurements",
    "Outcome",
    "SizeAdvice",
    "SizeChart",
    "dump_kb",
    "load_kb",
    "merge_learned",
    "normalize",
    "parse_kb",
    "parse_measurements",
    "phrasing_key",
    "recommend",
    "valid_id",
    "wants_human",
]
