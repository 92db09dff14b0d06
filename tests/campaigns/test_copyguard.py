"""The copy guard: absolute claims in zh and en are found, harmless words are not, and the
offsets point into the text as the manager wrote it."""

from __future__ import annotations

import pytest

from campaigns.copyguard import DEFAULT_ALLOWED, DEFAULT_WORDS, CopyGuard, Hit, build_guard

GUARD = CopyGuard()


def found(text: str, guard: CopyGuard = GUARD) -> list[str]:
    """The hits as the text shows them."""
    return [text[h.start : h.end] for h in guard.check(text)]


# --- Chinese -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("全场最好的茶叶", ["最好"]),
        ("最佳选择", ["最佳"]),
        ("销量第一", ["销量第一"]),
        ("我们是第一", ["第一"]),
        ("行业第1名", ["第1"]),
        ("国家级非遗工艺", ["国家级"]),
        ("顶级大红袍", ["顶级"]),
        ("极品龙井", ["极品"]),
        ("独一无二的口感", ["独一无二"]),
        ("万能清洁剂", ["万能"]),
        ("100%有效", ["100%有效"]),
        ("百分百好评", ["百分百"]),
        ("绝对正品", ["绝对"]),
        ("唯一指定经销商", ["唯一"]),
        ("全网最低价", ["全网最低"]),
        ("史无前例的折扣", ["史无前例"]),
        ("永久保修", ["永久"]),
        ("根治失眠", ["根治"]),
        ("首个获奖品牌", ["首个"]),
        ("世界级品质", ["世界级"]),
        ("最低价", ["最低价"]),
        ("最便宜", ["最便宜"]),
        ("最大优惠", ["最大"]),
        ("最高级面料", ["最高级"]),
        ("最多人选择", ["最多人"]),  # "most people": a ranking, unlike 最多 "at most"
        ("最新技术", ["最新技术"]),  # longer than the allowed 最新
        ("最受欢迎", ["最受欢迎"]),
        ("最美味", ["最"]),  # 最 alone catches any other 最X
        ("首选好茶", ["首选"]),
        ("零风险试用", ["零风险"]),
    ],
)
def test_chinese_absolute_claims_are_found(text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "最近上新",  # recently
        "最后一天",  # the last day
        "最终解释权归本店所有",  # final
        "最初的味道",  # at first
        "最早周五发货，最晚周日",  # earliest / latest (dates)
        "最新款上架",  # newest (a time, not a ranking)
        "每人最多领1张",  # at most
        "最少买2件可用",  # at least
        "最低消费99元",  # minimum spend
        "最高立减50元",  # up to 50 off
        "最高减30",
        "最佳赏味期12个月",  # a consumption hint, exempt
        "第一次购买立减10元",  # first purchase
        "第一单包邮",
        "第一件半价",
        "第一天签到送积分",
        "第一时间发货",  # as soon as possible
        "第1次下单",
        "第十一届周年庆",  # contains 第 and 一, not 第一
        "第10名",  # 第1 followed by a digit is another number
        "100%纯棉",  # bare 100% is a fact
        "独家优惠",  # 独家 is not in the list
        "统一价",
        "",
    ],
)
def test_harmless_chinese_passes(text: str) -> None:
    assert GUARD.check(text) == []


def test_a_harmless_word_does_not_hide_a_claim_next_to_it() -> None:
    text = "最近最好卖的第一次体验，销量第一"
    assert found(text) == ["最好", "销量第一"]


# --- English -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The best tea in town", ["The best"]),
        ("THE BEST", ["THE BEST"]),
        ("Best ever deal", ["Best ever"]),
        ("our best-ever sale", ["best-ever"]),
        ("No. 1 in Shanghai", ["No. 1"]),
        ("No.1 brand", ["No.1"]),
        ("no 1 choice", ["no 1"]),
        ("the number one shop", ["number one"]),
        ("#1 seller", ["#1"]),
        ("Top1 pick", ["Top1"]),
        ("Guaranteed results", ["Guaranteed"]),
        ("We guarantee it", ["guarantee"]),
        ("guaranteed-results", ["guaranteed"]),  # a hyphen separates words
        ("It cures colds", ["cures"]),
        ("a cure for everything", ["cure"]),
        ("100% effective", ["100% effective"]),
        ("100 % effective", ["100 % effective"]),
        ("The world's best oolong", ["world's best"]),
        ("worlds best oolong", ["worlds best"]),
        ("world\u2019s best", ["world\u2019s best"]),  # a curly apostrophe
        ("a miracle cream", ["miracle"]),
        ("Risk-free trial", ["Risk-free"]),
        ("risk free trial", ["risk free"]),
        ("the lowest price", ["lowest price"]),
        ("world-class service", ["world-class"]),
        ("the best-selling tea in China", ["the best"]),  # a rank: 销量第一
        ("It is the best. Before you go, look", ["the best"]),
    ],
)
def test_english_absolute_claims_are_found(text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "A secure checkout",  # cure inside a word
        "procure and manicure",
        "curious flavours",
        "Best before 2027-06",
        "check the best-before date",
        "the best before date",
        "Best wishes",
        "our best-selling teas",  # not "the best"
        "bestseller shelf",
        "Order No. 10 ships today",  # No. 10 is not No. 1
        "ticket #12",
        "top 10 teas",
        "30-day money-back guarantee",  # a service promise
        "money back guaranteed",
        "dry-cured ham and cured meat",
        "atheist bestiary",
        "",
    ],
)
def test_harmless_english_passes(text: str) -> None:
    assert GUARD.check(text) == []


# --- offsets, normalisation, mixed text --------------------------------------------------


def test_hits_carry_the_word_and_offsets_sorted() -> None:
    text = "新品: the best 茶, 销量第一! No.1"
    hits = GUARD.check(text)
    assert hits == [
        Hit("the best", 4, 12),
        Hit("销量第一", 16, 20),
        Hit("No. 1", 22, 26),
    ]
    assert [text[h.start : h.end] for h in hits] == ["the best", "销量第一", "No.1"]
    assert all(a.end <= b.start for a, b in zip(hits, hits[1:], strict=False))


def test_mixed_chinese_and_english_without_spaces() -> None:
    assert found("本店No.1品牌") == ["No.1"]
    assert found("全场the best价格") == ["the best"]
    assert found("Top茶叶第一名") == ["第一"]


def test_full_width_text_is_normalised_and_offsets_stay_in_the_original() -> None:
    text = "限时：ＴＨＥ　ＢＥＳＴ，１００％有效，Ｎｏ．１"
    hits = GUARD.check(text)
    assert [text[h.start : h.end] for h in hits] == [
        "ＴＨＥ　ＢＥＳＴ",
        "１００％有效",
        "Ｎｏ．１",
    ]
    assert [h.word for h in hits] == ["the best", "100%有效", "No. 1"]
    assert hits[0].start == 3


def test_a_character_that_expands_maps_back_to_itself() -> None:
    text = "店铺№1，最好"  # № is "No" after NFKC: two characters from one
    hits = GUARD.check(text)
    assert [text[h.start : h.end] for h in hits] == ["№1", "最好"]
    assert (hits[1].start, hits[1].end) == (5, 7)


def test_zero_width_characters_do_not_split_a_word() -> None:
    text = "最\u200b好的 gua\u200branteed"
    assert found(text) == ["最\u200b好", "gua\u200branteed"]


def test_the_longest_word_wins_at_one_place() -> None:
    assert [h.word for h in GUARD.check("全网最低价")] == ["全网最低"]
    assert [h.word for h in GUARD.check("最低价")] == ["最低价"]
    assert [h.word for h in GUARD.check("guaranteed")] == ["guaranteed"]
    assert [h.word for h in GUARD.check("cure-all")] == ["cure-all"]


def test_empty_text_and_an_empty_guard() -> None:
    assert GUARD.check("") == []
    assert GUARD.mark("") == ""
    empty = CopyGuard(words=(), allowed=())
    assert empty.check("最好的 No.1") == []
    assert empty.mark("<b>最好</b>") == "&lt;b&gt;最好&lt;/b&gt;"


# --- mark --------------------------------------------------------------------------------


def test_mark_escapes_the_text_and_wraps_each_hit() -> None:
    text = '<a href="x">最好</a> & the best'
    assert GUARD.mark(text) == (
        "&lt;a href=&quot;x&quot;&gt;<u><b>最好</b></u>&lt;/a&gt; &amp; <u><b>the best</b></u>"
    )


def test_mark_without_hits_is_only_escaped() -> None:
    assert GUARD.mark("最近 <新品> & 最后一天") == "最近 &lt;新品&gt; &amp; 最后一天"


def test_mark_escapes_inside_a_hit() -> None:
    guard = build_guard("a&b")
    assert guard.mark("x a&b y") == "x <u><b>a&amp;b</b></u> y"


# --- configuration -----------------------------------------------------------------------


def test_build_guard_adds_words_and_allowed_words_to_the_defaults() -> None:
    guard = build_guard("王牌, 秒杀价，冠军\nexclusive", "最好在、best price")
    assert set(DEFAULT_WORDS) <= set(guard.words)
    assert set(DEFAULT_ALLOWED) <= set(guard.allowed)
    assert {"王牌", "秒杀价", "冠军", "exclusive"} <= set(guard.words)
    assert {"最好在", "best price"} <= set(guard.allowed)
    assert found("王牌产品，世界冠军", guard) == ["王牌", "冠军"]
    assert found("An Exclusive offer", guard) == ["Exclusive"]
    assert found("exclusively", guard) == []
    assert found("最好在7天内使用", guard) == []  # "best used within 7 days"
    assert found("最好在7天内使用") == ["最好"]  # the defaults alone flag it


def test_build_guard_with_nothing_extra_is_the_default_guard() -> None:
    assert build_guard() == CopyGuard()
    assert build_guard(" , ，\n ", "") == CopyGuard()


def test_build_guard_ignores_repeats_of_default_words() -> None:
    guard = build_guard("最好, THE BEST, 最好")
    assert guard.words == DEFAULT_WORDS


def test_allowing_a_default_word_switches_it_off() -> None:
    guard = build_guard(extra_allowed="绝对, guaranteed")
    assert found("绝对正品 guaranteed 最好", guard) == ["最好"]
    assert found("guarantee", guard) == ["guarantee"]  # only the word allowed


def test_separators_only_words_are_ignored() -> None:
    guard = build_guard(" - , . ")
    assert guard.check("a - b . c") == []


def test_a_long_text_of_harmless_words_has_only_its_one_hit() -> None:
    text = (
        "本店最近上新，每人最多领1张，第一次购买立减。Best before 2027, secure checkout. "
    ) * 80
    hits = GUARD.check(text + "最好")
    assert [h.word for h in hits] == ["最好"]
    assert hits[0].start == len(text)
