# Orders in the customer's chat (views/orders.py, handlers/orders.py, bot/orders.py).

order-card-title = 📦 Order { $id }
order-status-line = Status: { $status }
order-items-line = Items: { $items }
order-carrier-line = Carrier: { $carrier }
order-tracking-line = Tracking number: { $number }
order-eta-line = Expected by: { $date }
order-paid-line = Paid: { $date }
order-shipped-line = Shipped: { $date }
order-delivered-line = Delivered: { $date }
order-events-title = Latest tracking updates:
order-event-line = { $at } · { $text }
order-event-plain = • { $text }

order-status-pending = awaiting payment
order-status-paid = paid, being prepared
order-status-shipped = shipped
order-status-in-transit = on its way
order-status-delivered = delivered
order-status-cancelled = cancelled
order-status-returned = returned
order-status-refunded = refunded

order-pick = Your recent orders. Tap one to see where it is:
order-button = { $id } · { $status }
order-not-found = I can't find that order for you. If you ordered with another phone number, share it with the button below, or talk to a person.
order-none = I can't find any orders for you yet. Share the phone number you ordered with (the button below), and I'll find them; or talk to a person.
btn-share-phone = 📱 Share my phone number
btn-order-details = 📦 Order details

order-contact-not-own = Please share your own number with the "Share my phone number" button: I can only link the number of the account you're writing from.
order-contact-invalid = Sorry, I can't read a phone number in that contact. Please try the "Share my phone number" button again, or talk to a person.
order-contact-linked = Thanks, your number is linked to your orders.
order-contact-linked-none = Thanks, your number is linked. I don't see orders placed with it yet: they will show here once the shop sends them.

order-link-invalid = Sorry, this link is not valid. Please open it again from your order page, or ask me "where is my order".
order-link-waiting = Order { $id } is now linked to your chat. It will show here once the shop sends it.

order-update-shipped = 🚚 Your order { $id } has shipped with { $carrier }. Tracking number: { $number }
order-update-shipped-plain = 🚚 Your order { $id } has shipped.
order-update-delivered = ✅ Your order { $id } has been delivered. Enjoy! If something isn't right, tap "↩️ Return / exchange" below (or send /return) and we'll help you send it back.
order-update-late = ⏳ Your order { $id } was expected by { $date } and hasn't arrived yet. We're sorry for the wait. Tap below to talk to a person and we'll look into it.
