# 群发：订阅者看到的内容、管理员的对话、进度与报告。
bc-footer = <i>不想再收到此类消息？/unsubscribe</i>
bc-btn-claim = 🎁 领取优惠券
bc-btn-cancel = ⛔ 取消群发
bc-progress-title = 📣 群发 #{ $id }：发送中…
bc-progress-counts = ✅ 已发送 { $sent } · ❌ 失败 { $failed } · 🚫 已屏蔽 { $blocked } · ⏳ 剩余 { $left }
bc-progress-eta = 预计还需 { $time }
bc-report-done = 📣 群发 #{ $id } 已完成。
bc-report-cancelled = ⛔ 群发 #{ $id } 已取消。
bc-report-counts = 收件人：{ $total } · 已发送 { $sent } · 失败 { $failed } · 屏蔽了机器人 { $blocked } · 状态未知（中断）{ $unknown } · 未发送（已取消）{ $cancelled } · 因每日上限跳过 { $capped }
bc-report-duration = 用时：{ $time }

subscribe-done = 🔔 已重新订阅：我们会通知您优惠活动。随时发送 /unsubscribe 可退订。
subscribe-already = 🔔 您已订阅优惠活动通知。
unsubscribe-done = 🔕 已退订：我们不会再发送优惠信息。您的优惠券和客服不受影响。发送 /subscribe 可重新订阅。
unsubscribe-already = 🔕 您已经退订了。改变主意可发送 /subscribe。

bc-ask-message = 📣 新建群发。请发送订阅者将看到的消息：带格式的文字，或一张带说明的图片。发送 /cancel 可取消。
bc-not-a-message = 请发送文字，或一张带说明的图片。发送 /cancel 可取消群发。
bc-looks-like-command = 这看起来像一条命令。请发送消息正文，或发送 /cancel 取消。
bc-too-long = 内容太长：最多 { $limit } 个字符（当前 { $length } 个）。请缩短。
bc-ask-buttons = 可选的链接按钮，每行一个，例如：
    立即选购 - https://shop.example/sale
    或点击“跳过”。
bc-bad-buttons = 无法识别这一行：“{ $line }”。请写成“按钮文字 - https://…”，每行一个（最多 { $max } 个），或点击“跳过”。
bc-ask-coupon = 附带优惠券吗？请发送优惠内容（例如“满199减20”，有效期 14 天，每位收件人一张），或点击“跳过”。
bc-coupon-too-long = 优惠内容太长（最多 { $limit } 个字符）。
bc-segment-title = 👥 发给谁？点击按钮可组合筛选条件。
bc-segment-filters = 筛选：{ $filters }
bc-segment-count = 当前收件人：{ $count }
bc-seg-all = 全部订阅者
bc-seg-new = 新用户（7 天内入群或首次出现）
bc-seg-active = 活跃（≤ 7 天内出现过）
bc-seg-dormant = 沉睡（≥ 30 天未出现）
bc-seg-tier = 等级 ≥ { $tier }
bc-seg-streak = 连续签到 ≥ { $days } 天
bc-seg-language = 语言 { $language }
bc-seg-high-value = 高价值（最近一单 ≤ { $recent } 天前；{ $window } 天内 ≥ { $orders } 单且消费 ≥ { $spend } { $currency }）
bc-seg-at-risk = 流失风险（{ $window } 天内 ≥ { $orders } 单且消费 ≥ { $spend } { $currency }，但近 { $recent } 天未下单）
bc-seg-sleeping = 久未下单（最近一单 ≥ { $sleeping } 天前；{ $window } 天内 < { $orders } 单且消费 < { $spend } { $currency }）
bc-btn-skip = 跳过 ➡️
bc-btn-new = 新用户
bc-btn-active = 活跃
bc-btn-dormant = 沉睡
bc-btn-high-value = 💎 高价值
bc-btn-at-risk = ⚠️ 流失风险
bc-btn-sleeping = 💤 久未下单
bc-btn-language = { $language }
bc-btn-tier = ≥ { $tier }
bc-btn-streak = 连签 ≥ { $days }
bc-btn-preview = 👀 预览
bc-btn-abort = ✖ 取消
bc-btn-send = 🚀 发送
bc-btn-send-anyway = ⚠️ 仍然发送
bc-btn-edit = ✏️ 修改文字
bc-btn-reset = 全部订阅者
bc-nobody = 没有用户符合这些条件。请先调整筛选再预览。
bc-preview-title = 👀 上面就是订阅者将看到的消息。
bc-preview-summary = 将发送给 { $count } 位订阅者。
bc-preview-coupon = 🎁 附带优惠券：{ $discount }（有效期 14 天）。
bc-guard-hits = ⚠️ 广告用语检查发现了广告法禁止的词语（已标出）：
bc-guard-ok = ✅ 广告用语检查未发现问题。
bc-started = 📣 群发 #{ $id }：已排队 { $total } 位收件人，{ $capped } 位因每日上限跳过。
bc-quiet = 🌙 现在是免打扰时段：将于 { $time } 开始发送。
bc-nothing-queued = 没有可发送的收件人（都已达到每日上限）：群发 #{ $id } 已结束。
bc-dialogue-over = 此对话已结束。请发送 /broadcast 重新开始。
bc-dialogue-cancelled = 已放弃本次群发。
bc-cancel-confirm = 停止群发 #{ $id }？已发出的消息不会撤回。
bc-btn-cancel-yes = ⛔ 确定停止
bc-btn-cancel-no = 继续发送
bc-cancel-done = ⛔ 群发 #{ $id } 已停止，稍后发送报告。
bc-cancel-too-late = 群发 #{ $id } 已经结束了。
bc-kept = 群发 #{ $id } 继续发送。
bc-list-empty = 还没有群发。发送 /broadcast 开始。
bc-list-title = 📣 最近的群发
bc-list-line = #{ $id } · { $date } · { $status ->
        [draft] 草稿
        [sending] 发送中
        [done] 已完成
        [cancelled] 已取消
       *[other] { $status }
    } · 已发送 { $sent } / { $total } · { $text }
bc-not-allowed = 只有店铺管理员可以这样做。
bc-coupon-title = 群发优惠券
bc-coupon-failed = 无法创建优惠券：{ $reason }
bc-error = 无法创建群发：{ $reason }
bc-why-no-content = 没有文字，也没有图片。
bc-why-too-many-buttons = 最多只能放 { $limit } 个链接按钮。
bc-why-bad-button = 每个按钮都需要文字和有效的链接。
bc-why-coupon-too-large = 一批优惠券最多 { $limit } 张（每位收件人一张）。请缩小筛选范围，或不带优惠券发送。
bc-why-coupon-not-stored = 券码保存失败，请重试。
bc-why-unknown = 请重新发送 /broadcast 开始。
bc-button-invalid = 这个按钮无效。发送 /broadcasts 查看最近的群发。
bc-use-buttons = 请使用上方的按钮，或发送 /cancel 取消。
