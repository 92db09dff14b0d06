"""FAQ knowledge base and matcher (pure Python: no bot, database or network code here)."""

from faq.human import wants_human
from faq.kb import Entry, KBError, KnowledgeBase, SizeChart, load_kb, parse_kb
from faq.live import FaqMatcher, LearnedPhrasing, LiveMatcher, merge_learned
from faq.matcher import Candidate, Matcher, MatchResult, Outcome
from faq.normalize import normalize
from faq.sizing import Measurements, SizeAdvice, parse_measurements, recommend

__all__ = [
    "Candidate",
    "Entry",
    "FaqMatcher",
    "KBError",
    "KnowledgeBase",
    "LearnedPhrasing",
    "LiveMatcher",
    "MatchResult",
    "Matcher",
    "Measurements",
    "Outcome",
    "SizeAdvice",
    "SizeChart",
    "load_kb",
    "merge_learned",
    "normalize",
    "parse_kb",
    "parse_measurements",
    "recommend",
    "wants_human",
]
