"""The sender's token buckets."""

from __future__ import annotations

from bot.sender import Pacer


class Tick:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_group_gets_one_post_every_three_seconds_at_20_a_minute() -> None:
    tick = Tick()
    pacer = Pacer(global_per_second=25, group_per_minute=20, burst=3, clock=tick)
    assert pacer.reserve(-100) == 0.0  # no burst in a group
    wait = pacer.reserve(-100)
    assert 2.9 < wait <= 3.0  # one token every 3 s
    tick.now += wait
    assert pacer.reserve(-100) == 0.0


def test_a_429_blocks_the_chat_for_retry_after() -> None:
    tick = Tick()
    pacer = Pacer(private_per_second=1, burst=3, clock=tick)
    pacer.blocked(5, 10)
    assert pacer.reserve(5) > 9
    tick.now += 11
    assert pacer.reserve(5) == 0.0
