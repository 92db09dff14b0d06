# 聊天里的订单（views/orders.py、handlers/orders.py、bot/orders.py）。

order-card-title = 📦 订单 { $id }
order-status-line = 状态：{ $status }
order-items-line = 商品：{ $items }
order-carrier-line = 快递公司：{ $carrier }
order-tracking-line = 快递单号：{ $number }
order-eta-line = 预计送达：{ $date }
order-paid-line = 付款时间：{ $date }
order-shipped-line = 发货时间：{ $date }
order-delivered-line = 签收时间：{ $date }
order-events-title = 最新物流：
order-event-line = { $at } · { $text }
order-event-plain = • { $text }

order-status-pending = 待付款
order-status-paid = 已付款，备货中
order-status-shipped = 已发货
order-status-in-transit = 运输中
order-status-delivered = 已签收
order-status-cancelled = 已取消
order-status-returned = 已退货
order-status-refunded = 已退款

order-pick = 您最近的订单，点一下查看物流：
order-button = { $id } · { $status }
order-not-found = 抱歉，没有找到您的这个订单。如果下单时用的是别的手机号，请点下方按钮分享手机号，或转人工。
order-none = 暂时没有找到您的订单。请点下方按钮分享下单时用的手机号，我来帮您查；也可以转人工。
btn-share-phone = 📱 分享我的手机号
btn-order-details = 📦 订单详情

order-contact-not-own = 请用“分享我的手机号”按钮分享您自己的号码：只能关联您当前这个账号的手机号。
order-contact-invalid = 抱歉，这张名片里没有可用的手机号。请再点一次“分享我的手机号”，或转人工。
order-contact-linked = 谢谢，您的手机号已关联订单。
order-contact-linked-none = 谢谢，手机号已关联。暂时没有这个号码的订单：商家同步后会显示在这里。

order-link-invalid = 抱歉，这个链接无效。请从订单页面重新打开，或直接问我“我的订单到哪了”。
order-link-waiting = 订单 { $id } 已关联到您的聊天。商家同步订单后就会显示在这里。

order-update-shipped = 🚚 您的订单 { $id } 已发货，快递公司：{ $carrier }，快递单号：{ $number }
order-update-shipped-plain = 🚚 您的订单 { $id } 已发货。
order-update-delivered = ✅ 您的订单 { $id } 已签收，祝您喜欢！如有问题，点下面的“↩️ 退换货”（或发送 /return），我们帮您办理。
order-update-late = ⏳ 您的订单 { $id } 预计 { $date } 送达，目前还没到，抱歉让您久等了。点下方按钮转人工，我们马上帮您查。
