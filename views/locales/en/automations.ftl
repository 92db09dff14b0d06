# Lifecycle automations and the campaign numbers.
auto-welcome = 👋 Welcome! Here is a welcome gift for your first order: <b>{ $coupon }</b>.
    Tap the button below to get your personal code (valid { $days } days).
auto-winback = 🌟 We have missed you! Here is a little something to welcome you back: <b>{ $coupon }</b>.
    Tap the button below to get your personal code (valid { $days } days).
auto-held = ⚠️ The { $automation } automation was not sent today: the copy guard found { $words } in its text. Change WELCOME_COUPON / WINBACK_COUPON (or the texts) and it runs again tomorrow.
cstats-title = 📣 Marketing, last 30 days
cstats-none = 📣 No marketing messages in the last 30 days.
cstats-line = <b>{ $kind }</b>: { $broadcasts } run(s) · sent { $sent } · blocked { $blocked }
    🎁 claimed { $claimed } ({ $claim_rate }) · ↩️ came back within 7 days { $came_back } ({ $back_rate })
cstats-kind-manual = Broadcasts
cstats-kind-welcome = Welcome coupon
cstats-kind-winback = Win-back coupon
# Command menus: members, and the managers' private chats.
cmd-unsubscribe = No more offers (/subscribe brings them back)
cmd-admin-sale = Plan a flash sale
cmd-admin-sales = Scheduled sales: edit, cancel
cmd-admin-broadcast = Message a segment of subscribers
cmd-admin-broadcasts = Recent broadcasts and their numbers
cmd-admin-drop = Create a coupon drop
cmd-admin-dropstats = A drop's numbers
cmd-admin-stats = Numbers: /stats support or /stats campaigns
cmd-admin-unanswered = Questions the FAQ could not answer
