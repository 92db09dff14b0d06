"""FAQ knowledge base and matcher (pure Python: no bot, database or network code here)."""

from faq.human import wants_human
from faq.kb import Entry, KBError, KnowledgeBase, SizeChart, load_kb, parse_kb
from faq.matcher import Candidate, Matcher, MatchResult, Outcome
from faq.normalize import normalize
from faq.sizing import Measurements, SizeAdvice, parse_measurements, recommend

__all__ = [
    "Candidate",
    "Entry",
    "KBError",
    "KnowledgeBase",
    "MatchResult",
    "Matcher",
    "Measurements",
    "Outcome",
    "SizeAdvice",
    "SizeChart",
    "load_kb",
    "normalize",
    "parse_kb",
    "parse_measurements",
    "recommend",
    "wants_human",
]
