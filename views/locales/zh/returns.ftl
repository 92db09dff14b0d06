## 退换货：顾客的对话（/return）
cmd-return = 退货或换货
btn-return = ↩️ 退换货
btn-return-status = 📋 我的退换货
btn-return-cancel = ✖️ 取消
btn-return-all = 整单全部商品
btn-return-photos-done = ✅ 完成
btn-return-confirm = ✅ 提交申请
returns-intro = 您想退换哪个订单？
returns-no-orders = 暂时没有找到您的订单。如果您是用其他账号或手机号下的单，可以转人工帮您处理。
returns-order-button = { $id } · { $status }
returns-ask-items = 订单 { $id }：{ $items }
    您要退换哪些商品？请写下来（例如“蓝色衬衫 M 码”），或点击“整单全部商品”。
returns-ask-reason = 请选择退换原因：
returns-ask-photos = 请发送问题照片（最多 { $max } 张），发完后点击“完成”。
returns-photo-received = 📷 已收到第 { $count } 张照片。可以继续发送，或点击“完成”。
returns-photo-needed = 这里需要照片：请发送能看清问题的图片（不要发贴纸、文件或文字），然后点击“完成”。
returns-photos-max = 最多只能收 { $max } 张照片，请点击“完成”继续。
returns-photos-required = 请先发送至少一张照片。
returns-ask-resolution = 您希望退款还是换货？
returns-ask-new-size = 您想换成哪个尺码或款式？（例如“L”或“蓝色 M 码”）
returns-new-size-too-long = 请简短一些（最多 { $max } 个字），例如“L”或“蓝色 M 码”。
returns-items-too-long = 内容有点长，请用 { $max } 个字以内描述商品。
returns-need-text = 请用文字回复。
returns-use-buttons = 请使用上面的按钮，或发送 /cancel 退出。
returns-cancelled = 已取消退换货申请，未提交任何内容。
returns-step-over = 这一步已经结束。发送 /return 重新开始。
returns-not-your-order = 没有找到您的这个订单。
returns-opened = ✅ 您的退换货申请 #{ $id } 已提交。
    我们的团队会审核并在这里回复您，通常在一个工作日内。审核通过后，您会收到退货地址和说明。发送“/return status”可查看进度。
returns-all = 整单全部商品

returns-reason-no_reason = 🔄 不想要了（七天无理由）
returns-reason-size = 📏 尺码不合适
returns-reason-quality = 🧵 质量问题
returns-reason-wrong_item = ❓ 发错商品
returns-reason-not_received = 📭 没有收到货
returns-resolution-refund = 💰 退款
returns-resolution-exchange = 🔁 换货


## 无法申请的原因
returns-refused-not_found = 没有找到您的这个订单。
returns-refused-wrong_status = 这个订单当前的状态不能按这个原因申请（退换货需要已签收的订单；“没有收到货”适用于运输中的订单）。
returns-refused-window_passed = 这个订单的退换期限已于 { $deadline } 结束，我无法直接为您申请。
returns-refused-not_late = 这个订单还在预计送达时间内（预计 { $deadline } 前送达）。如果之后仍未收到，请再告诉我。
returns-refused-case_open = 这个订单已经有一个正在处理的退换货申请。发送“/return status”查看。
returns-refused-photos_needed = 这个原因需要至少一张照片。
returns-refused-human = 我们的工作人员仍可以帮您看看：请点击下方按钮。

## 提交前确认
returns-summary-title = 请确认您的申请：
returns-summary-order = 订单：{ $id }
returns-summary-items = 商品：{ $items }
returns-summary-reason = 原因：{ $reason }
returns-summary-resolution = 处理方式：{ $resolution }
returns-summary-new-size = 换成：{ $size }
returns-summary-photos = 照片：{ $count } 张
returns-summary-confirm = 确认提交吗？

## “/return status”
returns-status-none = 您还没有退换货申请。
returns-status-title = 您的退换货申请：
returns-status-line = #{ $id } · 订单 { $order } · { $date } · { $resolution } · { $state }
returns-state-open = 等待审核
returns-state-approved = 已同意：请寄回商品
returns-state-rejected = 未通过
returns-state-refunded = 已完成

## 客服的处理结果（发给顾客）
returns-reject-window = 已超过退换期限。
returns-reject-used = 商品已穿过、洗过或不是原始状态。
returns-reject-no_proof = 照片没有显示出问题。
returns-reject-other = 不符合我们的退换货政策，工作人员可以为您解释。
returns-instructions-default = 请将商品连同吊牌包装好，寄回到工作人员在本对话中提供的地址，并保留快递单号。
returns-note-approved = ✅ 您的退换货申请 #{ $id } 已通过。
    { $instructions }
returns-note-rejected = 抱歉，您的退换货申请 #{ $id } 未通过。{ $reason }
    如需沟通，请发送 /human。
returns-note-refunded = 💰 退换货申请 #{ $id } 的退款已完成，可能需要几天才能到账。
returns-note-exchanged = 🔁 退换货申请 #{ $id } 的换货已寄出。

## 客服群里的退换货卡片（客服的语言）
case-card-title = { $icon } 退换货 #{ $id } · { $state }
case-card-customer = 👤 { $name }{ $username }（id { $user_id }）
case-card-order = 🧾 订单 { $id } · { $status } · 签收 { $delivered }
case-card-items = 📦 { $items }
case-card-reason = ❓ { $reason }
case-card-resolution = 🎯 { $resolution }
case-card-new-size = 📏 换成：{ $size }
case-card-photos = 📷 照片：{ $count } 张（随卡片发送）
case-card-approved = 📦 { $agent } 已同意：顾客已收到退货说明。
case-card-rejected = ⛔ { $agent } 已拒绝：{ $reason }
case-card-refunded = ✅ { $agent } 已完成。
btn-case-approve = ✅ 同意
btn-case-reject = ⛔ 拒绝…
btn-case-refunded = 💰 已退款
btn-case-exchanged = 🔁 已寄出换货
btn-case-back = ↩️ 返回
case-choose-reason = 拒绝原因？顾客会收到对应语言的说明。
case-not-agent = 只有客服可以处理退换货：请先在本群发送 /online。
case-already = 已经处理过了：{ $state }。
case-not-found = 这个退换货申请已不存在。
case-done = 已记录：{ $state }。
case-state-open = 待处理
case-state-approved = 已同意，等待退回
case-state-rejected = 已拒绝
case-state-refunded = 已完成
