# 客服群里给客服人员看的文字（SUPPORT_LANGUAGE）。

card-title = { $icon } 工单 #{ $id } · { $state }
card-customer = 👤 { $name }{ $username } · id { $user_id } · { $language }
card-reason = 转人工方式：{ $reason }
card-question = ❓ { $question }
card-complaint = ⚠️ 投诉：顾客提出了投诉
card-bot-answered = 🤖 机器人已回答：
card-faq-line = • “{ $question }” → { $answer }
card-bot-missed = ❔ 机器人没能回答：
card-faq-missed-line = • “{ $question }”
card-orders = 📦 提到的订单号：{ $orders }
card-vip = ⭐ VIP：此工单优先处理
card-tier = 🏅 会员等级：{ $tier }
card-shop-orders = 🧾 最近订单：
card-shop-order = • #{ $order } · { $status } · { $amount } · { $date }
card-previous = 🗂 历史工单：{ $count } 个{ $csat }
card-previous-csat = ，平均评分 { $avg }★
card-assignee = 🧑‍💼 接待客服：{ $agent }
card-unassigned = 🧑‍💼 尚未接单
card-out-of-hours = 🌙 非工作时间创建
card-blocked = ⛔ 顾客已屏蔽机器人
card-breached = 🔥 首次响应已超时
card-reopened = 🔁 已重新打开 { $count } 次
card-help = 在本话题里发消息即回复顾客。!内容 或 /note 内容：内部备注。/c 关键词：快捷回复。/close、/transfer、/history。
card-help-reply = 回复这张卡片（或顾客的任意一条消息）即可回复顾客。!内容：内部备注。
btn-take = 🙋 接单
btn-close = ✅ 结束
btn-transfer = 🔀 转接
btn-transfer-queue = ↩ 退回队列
state-new = 新工单
state-assigned = 已接单
state-waiting = 待回复
state-answered = 已回复
state-closed = 已结束
topic-name = { $icon } { $name } · #{ $id }
ticket-taken = 工单 #{ $id } 已由你接待。
ticket-already-taken = { $agent } 已接了这个工单。
ticket-is-closed = 这个工单已结束。
ticket-not-found = 找不到这个工单。
ticket-transferred = 🔀 工单已{ $to_queue ->
    [yes] 退回队列。
   *[no] 转给 { $agent } { $mention }。
}
transfer-choose = 把工单 #{ $id } 转给：
transfer-nobody = 没有其他在线客服。发送 /transfer queue 可把工单退回队列。
transfer-bad-target = “{ $given }”不是客服：请用 @用户名 或 Telegram 数字 id（只含数字，例如 123456789）指定，或发送 /transfer queue。
transfer-unknown-agent = 还不认识客服 { $target }：客服在本群发过言或发送 /online 后才会被记录。
ticket-closed-note = ✅ { $agent } 已结束工单。
ticket-closed-by-customer = ✅ 顾客已结束对话。
ticket-reopened-note = 🔁 顾客又发来消息，工单已重新打开。
agent-ticket-closed = 这个工单已结束，消息没有发出。发送 /reopen 重新打开后再发。
agent-ticket-reopened = 🔁 工单 #{ $id } 已重新打开。
agent-no-ticket = 这个话题没有对应的工单，这里的消息不会发给任何人。
note-usage = 请把备注写在命令后面：/note 内容（或以 ! 开头发一条消息）。
note-saved = 📝 备注已保存。
canned-added = 快捷回复“{ $code }”已保存（{ $language }）。
canned-removed = 快捷回复“{ $code }”已删除。
canned-missing = 没有快捷回复“{ $code }”。发送 /canned list 查看全部。
canned-missing-var = 这条回复需要 { $names }，但本工单没有。消息没有发出。
canned-no-shop-name = 这条回复用到 {"{"}shop{"}"}，但还没有设置店铺名称：请在机器人的设置中填写 SHOP_NAME 并重启。消息没有发出。
canned-unknown-var = 未知变量 { $names }。可用：{"{"}name{"}"}、{"{"}order{"}"}、{"{"}agent{"}"}、{"{"}ticket{"}"}、{"{"}shop{"}"}。
canned-list = 快捷回复：
canned-line = • { $code }（{ $language }）：{ $text }
canned-none = 还没有快捷回复。管理员可用 /canned add 关键词 [zh|en] 内容 添加。
canned-usage = 用法：/canned add 关键词 [zh|en] 内容 · /canned remove 关键词 · /canned list
canned-bad-key = “{ $code }”不能作为快捷回复的键：请用 1-32 个字符（a-z、0-9、_ 或 -）。
canned-admins-only = 只有管理员可以修改快捷回复。
canned-choose = 选择一条快捷回复：
canned-sent = 📤 已发送：{ $text }
sla-alert = ⏰ 顾客已等待 { $minutes } 分钟未获回复（第 { $level } 次提醒）。{ $mentions }
customer-blocked = ⛔ 顾客已屏蔽机器人，消息无法送达。工单保持打开，直到你结束它。
customer-back = ✅ 顾客已解除屏蔽。
relay-failed = ⚠️ 有一条消息未能送达：{ $error }
relay-edited-mark = ✏️ 已编辑
relay-unavailable = [{ $kind }]（已不可用）
history-title = 🗂 之前的对话（话题已重建）：
history-line = { $time } { $who }：{ $text }
history-customer = 顾客
history-agent = 客服
history-note = 备注
history-empty = （还没有消息）
history-tickets = 🗂 该顾客的工单：
history-ticket-line = #{ $id } · { $opened } · { $state }{ $rating }
agent-online = 🟢 { $name } 已上线。
agent-offline = ⚪ { $name } 已下线。
csat-received = ⭐ 顾客为本次对话打了 { $score }/5 分。
csat-comment = 💬 顾客留言：{ $comment }
desk-stale-button = 这个按钮已失效。请使用工单卡片上的按钮，或在工单话题里发命令。
desk-command-here = 请在顾客的话题里使用这个命令（或回复顾客的消息）。
stats-title = 📊 客服数据
stats-window-today = 今天
stats-window-7d = 最近 7 天
stats-window-30d = 最近 30 天
stats-block = 新建 { $opened } · 结束 { $closed }
    首次响应 p50 { $frt50 } · p90 { $frt90 }
    解决时长 p50 { $res50 }
    SLA 达标 { $sla } · 满意度 { $csat }（{ $rated }/{ $asked } 已评）
    转人工率 { $handoff }
stats-agent = • { $name }：首次响应 { $first } 次（p50 { $frt50 }），结束 { $closed } 个，满意度 { $csat }
stats-after-sales = ↩️ 售后：新建 { $opened } · 通过 { $approved } · 拒绝 { $rejected } · 已退款或换货 { $refunded }（换货 { $exchanges }）
    处理时长 p50 { $res50 } · 新建中已处理 { $rate }（目标 { $target }）
stats-none = —
stats-usage = 用法：/stats support（客服）或 /stats campaigns（营销）
cmd-desk-c = 发送快捷回复：/c 关键词（不带关键词则选择）
cmd-desk-note = 内部备注（不会发给顾客）
cmd-desk-take = 接下这个工单
cmd-desk-close = 结束工单：/close [备注]
cmd-desk-transfer = 转接：/transfer [@客服 | queue]
cmd-desk-reopen = 重新打开已结束的工单
cmd-desk-history = 该顾客的历史工单
cmd-desk-online = 我在线，可以接单
cmd-desk-offline = 我暂时离开
cmd-desk-canned = 快捷回复：list、add、remove（管理员）

## 排队看板（群里的一条消息，原地更新）
board-title = 📋 等待接单、尚未建话题的工单：{ $count }
board-line = { $icon }#{ $id } { $name } · { $language }{ $tier } · { $since } 起 · { $words }
board-more = ……还有 { $count } 个：其他工单被接走后会显示在这里。
board-empty = 📋 目前没有等待建话题的工单。
board-help = 点按工单即可接单：随后会打开它的话题和卡片，并附上客户到目前为止的留言。
btn-board-take = 🙋 #{ $id } { $name }
