## 限时特卖：群内帖子（群组语言）
sale-span-hours = { $hours } 小时
sale-span-minutes = { $minutes } 分钟
sale-teaser = ⏰ { $left }后开抢：<b>{ $product }</b> 限时特卖
sale-teaser-tail = 点 🔔，开始时我会私信提醒你。
sale-start = 🔥 限时特卖开始啦：<b>{ $product }</b>
sale-ending = ⌛ 还剩 { $left }：<b>{ $product }</b>
sale-ended = ✅ <b>{ $product }</b> 限时特卖已结束，感谢参与，下次见！
sale-cancelled = ❌ <b>{ $product }</b> 限时特卖已取消，抱歉！
sale-price = 💰 { $price }
sale-price-was = 💰 { $price }（原价 <s>{ $original }</s>）
sale-stock = 📦 限量 { $stock } 件
sale-when = 🕗 { $start } – { $end }
sale-until = ⏳ 截止 { $end }
sale-reminder = 🔔 开始啦！<b>{ $product }</b> 限时特卖正在进行。
btn-sale-remind = 🔔 提醒我
btn-sale-details = 🔗 查看详情
btn-sale-buy = 🛒 立即购买
sale-remind-added = 🔔 好的！开始时我会私信提醒你。（如果你还没和我私聊过，请点我的名字并按“开始”，否则我联系不到你。）
sale-remind-already = 🔔 你已经订阅了这次特卖的提醒。
sale-remind-started = 特卖已经开始了，快去看看吧！
sale-remind-over = 这次特卖已经结束。

## 给管理员的通知
sale-stage-teaser = 提前 { $left } 的预告
sale-stage-start = 开始帖
sale-stage-ending = “即将结束”帖
sale-stage-end = “已结束”编辑
sale-stage-cancel = “已取消”编辑
sale-chat-group = 群组
sale-chat-channel = 频道
sale-notice-line = • { $chat }的{ $stage }（原定 { $due }）
sale-notice-skipped = ⚠️ 特卖 #{ $id }“{ $product }”：有 { $count } 条帖子因时间已过而跳过（机器人离线或繁忙）：
    { $list }
sale-notice-failed = ⚠️ 特卖 #{ $id }“{ $product }”：Telegram 拒绝了一条帖子（{ $error }）。请确认机器人是那里的管理员并且可以发帖：
    { $list }

## 创建对话（/sale）
sale-intro = 我们来安排一次限时特卖。任何一步都可以用 /cancel 退出。
sale-no-targets = 没有可发布特卖的地方：请设置 COMMUNITY_CHAT_ID（群组）或 CAMPAIGN_CHANNEL_ID（频道）。
sale-ask-product = 1/8 · 特卖什么商品？请发送商品名称（不超过 128 个字符）。
sale-ask-price = 2/8 · 特价和原价，例如“99 199”或“¥99 / ¥199”。原价可以不填。
sale-ask-stock = 3/8 · 有多少件？请发送数字，或点“跳过”。
sale-ask-image = 4/8 · 请发送帖子用的图片，或点“跳过”。
sale-ask-link = 5/8 · “购买”按钮的链接（http:// 或 https://），或点“跳过”。
sale-ask-start = 6/8 · 什么时候开始？例如“明晚8点”、“明天下午3点”、“周五 20:00”、“12-04 20:00”或“20:00”（时区 { $tz }）。
sale-ask-end = 7/8 · 什么时候结束？可以是时间，如“明晚10点”或“12-04 22:00”，也可以是时长，如“2h”、“90m”、“1d”（时区 { $tz }）。
sale-ask-targets = 8/8 · 发布到哪里？点选后按“完成”。
btn-sale-skip = ⏭ 跳过
btn-sale-cancel = ✖️ 取消
btn-sale-done = ✔️ 完成
btn-sale-publish = 🚀 发布
btn-sale-override = ⚠️ 仍然发布
btn-sale-edit-text = ✏️ 修改文字
sale-preview-title = 👀 预览：开始帖会是这个样子。
sale-schedule-title = 🗓 发布计划（{ $tz }）：
sale-schedule-line = • { $time } · { $stage } · { $chats }
sale-guard-clean = ✅ 广告用语检查未发现问题。要发布吗？
sale-guard-hits = ⚠️ 广告用语检查发现了广告法禁止的词（{ $words }）：
    { $text }
    请修改文字，或仍然发布（会被记录）。
sale-guard-blocked = 广告用语检查发现了禁用词：请修改文字或选择仍然发布。
sale-guard-edit = ⚠️ 广告用语检查发现了广告法禁止的词（{ $words }）：
    { $text }
    请发送其他文字，或 /cancel。
sale-published = 🗓 特卖 #{ $id }“{ $product }”已安排，{ $start } 开始。/sales 可查看你的特卖。
sale-dialogue-cancelled = 已取消，没有保存任何内容。
sale-dialogue-expired = 这个对话已经结束。请用 /sale 重新开始。
sale-need-text = 请发送文字。
sale-need-photo = 请发送一张图片，或点“跳过”。
sale-finish-first = 你正在安排特卖：请回答上面的问题，或用 /cancel 退出。
sale-use-buttons = 请使用上面的按钮，或用 /cancel 退出。
sale-choose-target = 请至少选择一个聊天。

## /sales
sales-none = 没有已安排或进行中的特卖。用 /sale 安排一个。
sales-title = 🗓 特卖：
sales-line = #{ $id } <b>{ $product }</b> · { $phase } · { $start } – { $end } · { $chats }
sale-phase-scheduled = 已安排
sale-phase-live = 进行中
sale-phase-ended = 已结束
sale-phase-cancelled = 已取消
btn-sale-edit = ✏️ 修改 #{ $id }
btn-sale-cancel-sale = ✖️ 取消 #{ $id }
sale-edit-choose = 要修改特卖 #{ $id }“{ $product }”的哪一项？
sale-field-product = 商品
sale-field-price = 价格
sale-field-stock = 库存
sale-field-url = 链接
sale-field-start = 开始时间
sale-field-end = 结束时间
sale-edited = ✅ 特卖 #{ $id } 已修改。尚未发出的帖子会显示新内容。
sale-cancel-confirm = 取消特卖 #{ $id }“{ $product }”？尚未发出的帖子不再发送；已发出的开始帖会标记为已取消。
btn-sale-cancel-yes = 是的，取消
btn-sale-keep = 不，保留
sale-cancelled-done = 特卖 #{ $id }“{ $product }”已取消。
sale-post-line = • { $time } · { $stage } · { $chat } · { $status }
sale-post-pending = 计划中
sale-post-queued = 发送中
sale-post-sent = 已发送
sale-post-skipped = 已跳过
sale-post-cancelled = 已取消

## 拒绝原因
sale-err-product-empty = 商品名称不能为空。
sale-err-product-long = 商品名称有 { $length } 个字符，不能超过 { $limit } 个。
sale-err-price = 请发送特价，后面可以加原价，例如“99 199”。
sale-err-price-long = 价格不能超过 { $limit } 个字符。
sale-err-price-large = 价格最多 ¥{ $limit }：请检查数字。
sale-err-stock = 请发送 1 到 { $limit } 之间的整数，或点“跳过”。
sale-err-url = 这不是链接：请发送以 http:// 或 https:// 开头的链接，或点“跳过”。
sale-err-time = 看不懂这个时间：请用例如“明晚8点”、“周五 20:00”、“12-04 20:00”或“20:00”。
sale-err-time-ambiguous = 是上午还是晚上？请说明，例如“明天上午8点”或“明晚8点”，或用 24 小时制：“20:00”。
sale-err-start-past = 这个时间已经过去了：请选择将来的开始时间。
sale-err-end-past = 这个结束时间已经过去了。
sale-err-too-far = 这个时间超过一年以后了。
sale-err-too-long = 一次特卖最长 { $days } 天。
sale-err-end-before-start = 结束时间必须晚于开始时间。
sale-err-no-target = 请至少选择一个聊天。
sale-err-target = 机器人不会在这个聊天发布特卖。
sale-err-unknown = 没有特卖 #{ $id }。
sale-err-field = 不能修改 { $field }。
sale-err-over = 特卖 #{ $id } 已结束或已取消，不能再修改。
sale-err-started = 特卖已经开始，开始时间不能再改（结束时间仍可修改）。
