## Returns and exchanges: the customer's dialogue (/return)
cmd-return = Return or exchange an order
btn-return = ↩️ Return / exchange
btn-return-status = 📋 My returns
btn-return-cancel = ✖️ Cancel
btn-return-all = All items of the order
btn-return-photos-done = ✅ Done
btn-return-confirm = ✅ Send the request
returns-intro = Which order would you like to return or exchange?
returns-no-orders = I can't find any orders of yours yet. If you ordered with another account or phone number, a person can help.
returns-order-button = { $id } · { $status }
returns-ask-items = Order { $id }: { $items }
    What are you returning? Write the items (e.g. "the blue shirt, size M"), or tap "All items of the order".
returns-ask-reason = Why are you returning it?
returns-ask-photos = Please send photos of the problem (up to { $max }), then tap Done.
returns-photo-received = 📷 Photo { $count } received. Send more, or tap Done.
returns-photo-needed = I need photos here: please send a picture (not a sticker, file or text) of the problem, then tap Done.
returns-photos-max = That's the most I can take ({ $max } photos). Tap Done to go on.
returns-photos-required = Please send at least one photo first.
returns-ask-resolution = Would you like your money back, or an exchange?
returns-ask-new-size = Which size or variant would you like instead? (e.g. "L" or "blue, M")
returns-new-size-too-long = Please keep it short (at most { $max } characters), e.g. "L" or "blue, M".
returns-items-too-long = That's a bit long: please describe the items in at most { $max } characters.
returns-need-text = Please write it as a text message.
returns-use-buttons = Please use the buttons above, or send /cancel to stop.
returns-cancelled = Return request cancelled. Nothing was sent.
returns-step-over = This step is over. Send /return to start again.
returns-not-your-order = I can't find that order for you.
returns-opened = ✅ Your return request #{ $id } is open.
    Our team will check it and reply here, usually within one working day. Once approved, you'll get the return address and instructions. Send "/return status" to follow it.
returns-all = all items of the order

returns-reason-no_reason = 🔄 Changed my mind (no reason)
returns-reason-size = 📏 Wrong size
returns-reason-quality = 🧵 Quality problem
returns-reason-wrong_item = ❓ Wrong item sent
returns-reason-not_received = 📭 Not received
returns-resolution-refund = 💰 Refund
returns-resolution-exchange = 🔁 Exchange


## Why a return cannot be opened
returns-refused-not_found = I can't find that order for you.
returns-refused-wrong_status = This order can't be returned for that reason in its current state (returns are for delivered orders; "not received" is for orders on their way).
returns-refused-window_passed = The return period for this order ended on { $deadline }, so I can't open a return myself.
returns-refused-not_late = This order is still within its expected delivery time (expected by { $deadline }). If it hasn't arrived after that, tell me again.
returns-refused-case_open = This order already has a return request in progress. Send "/return status" to see it.
returns-refused-photos_needed = This reason needs at least one photo.
returns-refused-human = A person from our team can still look at it: tap below.

## The summary before sending
returns-summary-title = Please check your request:
returns-summary-order = Order: { $id }
returns-summary-items = Items: { $items }
returns-summary-reason = Reason: { $reason }
returns-summary-resolution = You'd like: { $resolution }
returns-summary-new-size = New size / variant: { $size }
returns-summary-photos = Photos: { $count }
returns-summary-confirm = Send it?

## "/return status"
returns-status-none = You have no return requests.
returns-status-title = Your return requests:
returns-status-line = #{ $id } · order { $order } · { $date } · { $resolution } · { $state }
returns-state-open = waiting for our team
returns-state-approved = approved: please send the items back
returns-state-rejected = declined
returns-state-refunded = done

## Agents' decisions, as the customer hears them
returns-reject-window = The return period has passed.
returns-reject-used = The items have been worn, washed or are not in their original condition.
returns-reject-no_proof = The photos don't show the problem.
returns-reject-other = It doesn't meet our return policy; a person can explain.
returns-instructions-default = Please pack the items with their tags and send them back to the address our team gives you in this chat. Keep the tracking number.
returns-note-approved = ✅ Your return request #{ $id } is approved.
    { $instructions }
returns-note-rejected = Sorry, your return request #{ $id } was declined. { $reason }
    If you'd like to talk about it, send /human.
returns-note-refunded = 💰 Your refund for return request #{ $id } has been made. It may take a few days to show in your account.
returns-note-exchanged = 🔁 Your exchange for return request #{ $id } has been sent.

## The case card in the support group (agents' language)
case-card-title = { $icon } Return #{ $id } · { $state }
case-card-customer = 👤 { $name }{ $username } (id { $user_id })
case-card-order = 🧾 Order { $id } · { $status } · delivered { $delivered }
case-card-items = 📦 { $items }
case-card-reason = ❓ { $reason }
case-card-resolution = 🎯 { $resolution }
case-card-new-size = 📏 New size / variant: { $size }
case-card-photos = 📷 Photos: { $count } (sent with this card)
case-card-approved = 📦 Approved by { $agent }: the customer has the return instructions.
case-card-rejected = ⛔ Declined by { $agent }: { $reason }
case-card-refunded = ✅ Closed by { $agent }.
btn-case-approve = ✅ Approve
btn-case-reject = ⛔ Decline…
btn-case-refunded = 💰 Refund done
btn-case-exchanged = 🔁 Exchange sent
btn-case-back = ↩️ Back
case-choose-reason = Why decline? The customer gets the reason in their language.
case-not-agent = Only desk agents decide returns: send /online in this group first.
case-already = Already decided: { $state }.
case-not-found = This return no longer exists.
case-done = Saved: { $state }.
case-state-open = open
case-state-approved = approved, waiting for the items
case-state-rejected = declined
case-state-refunded = done
