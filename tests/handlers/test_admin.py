"""Admin commands: only ADMIN_IDS reach them; customers see an unknown command."""

from __future__ import annotations

from tests.conftest import MakeClient


async def test_unanswered_lists_gaps_for_admins_only(make_client: MakeClient) -> None:
    customer = make_client(user_id=5001)
    admin = make_client(user_id=900)  # ADMIN_IDS in the test settings
    [none] = await admin.send("/unanswered")
    assert "No unanswered questions" in (none.text or "")

    await customer.send("do you have a physical store in Paris")
    await customer.send("do you have a physical store in Paris")
    [report] = await admin.send("/unanswered")
    assert "2× do you have a physical store in Paris" in (report.text or "")
    assert "faq unanswered" in (report.text or "")

    [refused] = await customer.send("/unanswered")
    assert "don't know that command" in (refused.text or "")
