start-greeting = { $name }，您好！👋 我是店铺小助手。
    关于尺码、发货、退换货、订单的问题都可以问我，中文或英文都行。我答不上来时，会帮您转人工。
help-text = 我可以这样帮您：
    • 直接输入问题，例如“170cm 65kg 穿什么码？”或“怎么退货？”
    • 点下方菜单按钮查看常见问题
    • /human — 转人工客服
    • /return — 退货/换货 · /return status — 查看申请进度
    • /checkin — 每日签到领积分 · /me — 积分、等级、连签 · /top — 排行榜
    • /mycoupons — 我的优惠券 · /shop — 积分兑换优惠券
    • /language — 中文 / English
    • /help — 查看本说明
menu-size = 📏 尺码
menu-shipping = 🚚 发货物流
menu-returns = ↩️ 退换货
menu-orders = 📦 我的订单
menu-human = 🙋 转人工
menu-language = 🌐 语言
menu-placeholder = 请输入您的问题…
menu-topic-missing = 这个话题暂时还没有收录。请直接输入您的问题，或点“转人工”。

language-choose = 请选择语言：
language-set = 好的，之后我会用中文和您交流。

btn-helpful = 👍 有帮助
btn-not-helpful = 👎 没帮助
btn-human = 🙋 转人工
btn-none-of-these = 都不是

size-advice-clothing = { $note ->
        [between] 根据{ $measures }，建议选 { $size } 码（身高和体重对应的尺码不同，一般选大一码更舒适）。
        [above_range] 根据{ $measures }，已超出尺码表范围，最大码 { $size } 可能偏紧，建议点“转人工”让客服帮您确认。
        [below_range] 根据{ $measures }，低于尺码表范围，最小码 { $size } 可能偏大。
       *[fits] 根据{ $measures }，建议选 { $size } 码。
    }
size-advice-shoes = { $note ->
        [above_range] 脚长 { $foot } 厘米已超出尺码表范围，我们最大的鞋码是 { $size } 码。
        [below_range] 脚长 { $foot } 厘米低于尺码表范围，我们最小的鞋码是 { $size } 码。
       *[other] 脚长 { $foot } 厘米，建议选 { $size } 码（欧码）。
    }
size-measure-height = 身高 { $value } 厘米
size-measure-weight = 体重 { $value } 公斤
size-advice-footer = 不同款式尺码略有差异，请以商品详情页的尺码表为准。

clarify-intro = 我不太确定您的意思，是下面这些问题吗？
no-match = 抱歉，这个问题我暂时答不好，已经帮您记录给团队。您可以换个说法再问，或者转人工。
smalltalk-greeting = 您好！👋 请问有什么可以帮您？直接输入问题，或点下面的菜单。
smalltalk-thanks = 不客气！😊 还有其他问题随时问我。
smalltalk-goodbye = 👌 有需要随时找我。
complaint-received = 非常抱歉给您带来不好的体验，已作为投诉转给客服团队。
empty-text = 我只能看懂文字哦 🙂 请输入您的问题，例如“多久发货？”
too-long = 这条消息太长了。请用几句话问一个问题，我会尽力回答。
non-text = 收到！我目前只能读文字消息。请用文字描述您的问题，或点“转人工”让客服来看。
unknown-command = 我不认识这个指令。发送 /help 查看我能做什么。
stale-button = 这个按钮已失效，请重新提问。

feedback-thanks = 感谢您的反馈！🙏
feedback-sorry-alternatives = 抱歉没帮上忙。您是想问下面这些吗？
feedback-sorry-human = 抱歉没帮上忙。需要转人工客服吗？
feedback-already = 您已经评价过这条回答了，谢谢！

human-recorded = 已将您的请求转给客服团队（编号 #{ $id }）。本机器人暂未开通人工在线聊天，回复可能需要一些时间；您的问题已一并保存。
human-already = 您的请求 #{ $id } 已在客服团队处，问题也已保存。在此期间您可以继续问我。
human-after-misses = 抱歉，连续两次没能回答您的问题。已请客服团队来帮您（编号 #{ $id }）。本机器人暂未开通人工在线聊天，回复可能需要一些时间。

flood-notice = 您发消息太快啦，请稍等片刻，我马上再看您的消息。
error-generic = 抱歉，我们这边出了点问题，请稍后再试。

cmd-start = 开始并显示菜单
cmd-help = 我能做什么
cmd-human = 转人工客服
cmd-language = 中文 / English

ticket-opened = 已为您转接人工客服，您前面排第 { $position } 位，通常约 { $minutes } 分钟内回复。可以直接继续留言，客服都能看到。
ticket-opened-no-eta = 已为您转接人工客服，您排第 { $position } 位，请稍候。可以直接继续留言，客服都能看到。
ticket-with-agent = 您已接通客服团队，客服会在这里回复您。可以直接继续留言，客服都能看到。
ticket-already-open = 您已在人工客服对话中（对话 #{ $id }），直接在这里留言即可。
ticket-out-of-hours = 现在是非工作时间，我们将于 { $opens } 起回复。请直接留言，消息不会丢失。
ticket-reopened = 欢迎回来！已为您重新打开上一次的客服对话。
ticket-after-misses = 抱歉，没能回答您的问题。
ticket-closed-by-agent = 客服已结束本次对话。请为我们的服务打分：
ticket-closed-by-you = 对话已结束。请为我们的服务打分：
ticket-close-already = 本次对话已经结束了。
ticket-new-after-close = 已为您新开一个人工客服对话。
btn-close-ticket = ✅ 结束对话
csat-thanks = 谢谢您的评分！还有想补充的吗？直接在这里留言即可（可选）。
btn-csat-skip = 跳过
csat-comment-thanks = 谢谢，已转达给客服团队。
csat-already = 您已评价过本次对话，谢谢！
csat-skipped = 好的，感谢您的咨询！
