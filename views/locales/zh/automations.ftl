# 自动化营销与营销数据。
auto-welcome = 👋 欢迎你！送你一份新人礼：<b>{ $coupon }</b>。
    点下方按钮领取你的专属券码（{ $days } 天内有效）。
auto-winback = 🌟 好久不见，我们想你了！送你一份回归礼：<b>{ $coupon }</b>。
    点下方按钮领取你的专属券码（{ $days } 天内有效）。
auto-held = ⚠️ 今天的「{ $automation }」自动消息没有发送：文案检查发现了 { $words }。请修改 WELCOME_COUPON / WINBACK_COUPON（或文案），明天会再次运行。
cstats-title = 📣 近 30 天营销数据
cstats-none = 📣 近 30 天没有营销消息。
cstats-line = <b>{ $kind }</b>：{ $broadcasts } 次 · 送达 { $sent } · 已拉黑 { $blocked }
    🎁 领券 { $claimed }（{ $claim_rate }）· ↩️ 7 天内回访 { $came_back }（{ $back_rate }）
cstats-kind-manual = 群发
cstats-kind-welcome = 新人券
cstats-kind-winback = 召回券
# 命令菜单：会员，以及管理员的私聊。
cmd-unsubscribe = 不再接收优惠消息（/subscribe 恢复）
cmd-admin-sale = 创建限时特卖
cmd-admin-sales = 已排期的特卖：修改、取消
cmd-admin-broadcast = 给订阅用户分群群发
cmd-admin-broadcasts = 最近的群发及数据
cmd-admin-drop = 创建抢券活动
cmd-admin-dropstats = 抢券活动数据
cmd-admin-stats = 数据：/stats support 或 /stats campaigns
cmd-admin-unanswered = FAQ 没答上的问题
