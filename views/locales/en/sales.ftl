## Flash sales: the posts (in the group's language)
sale-span-hours = { $hours } h
sale-span-minutes = { $minutes } min
sale-teaser = ⏰ Flash sale in { $left }: <b>{ $product }</b>
sale-teaser-tail = Tap 🔔 and I'll message you privately when it starts.
sale-start = 🔥 The flash sale is on: <b>{ $product }</b>
sale-ending = ⌛ Only { $left } left: <b>{ $product }</b>
sale-ended = ✅ The flash sale of <b>{ $product }</b> has ended. Thank you, see you next time!
sale-cancelled = ❌ The flash sale of <b>{ $product }</b> has been cancelled. Sorry!
sale-price = 💰 { $price }
sale-price-was = 💰 { $price } (instead of <s>{ $original }</s>)
sale-stock = 📦 Only { $stock } available
sale-when = 🕗 { $start } – { $end }
sale-until = ⏳ Until { $end }
sale-reminder = 🔔 It has started! The flash sale of <b>{ $product }</b> is on now.
btn-sale-remind = 🔔 Remind me
btn-sale-details = 🔗 Details
btn-sale-buy = 🛒 Buy now
sale-remind-added = 🔔 Done! I'll message you privately when the sale starts. (If you have never opened a chat with me, tap my name and press Start, or I can't reach you.)
sale-remind-already = 🔔 You're already on the list for this sale.
sale-remind-started = The sale has already started: go get it!
sale-remind-over = This sale is over.

## Notices to the manager
sale-stage-teaser = teaser { $left } before
sale-stage-start = start post
sale-stage-ending = “ending soon” post
sale-stage-end = “ended” edit
sale-stage-cancel = “cancelled” edit
sale-chat-group = group
sale-chat-channel = channel
sale-notice-line = • { $stage } in the { $chat } (due { $due })
sale-notice-skipped = ⚠️ Sale #{ $id } “{ $product }”: { $count } post(s) were skipped because their time had passed (the bot was offline or busy):
    { $list }
sale-notice-failed = ⚠️ Sale #{ $id } “{ $product }”: Telegram refused a post ({ $error }). Check that the bot is an admin there and may post:
    { $list }

## The dialogue (/sale)
sale-intro = Let's plan a flash sale. You can leave at any step with /cancel.
sale-no-targets = There is nowhere to post a sale: set COMMUNITY_CHAT_ID (the group) or CAMPAIGN_CHANNEL_ID (a channel).
sale-ask-product = 1/8 · What is on sale? Send the product name (at most 128 characters).
sale-ask-price = 2/8 · The sale price and the original price, e.g. “99 199” or “¥99 / ¥199”. The original price is optional.
sale-ask-stock = 3/8 · How many are available? Send a number, or Skip.
sale-ask-image = 4/8 · Send a photo for the posts, or Skip.
sale-ask-link = 5/8 · The link of the Buy button (http:// or https://), or Skip.
sale-ask-start = 6/8 · When does it start? e.g. “tomorrow 8pm”, “fri 20:00”, “next monday 10am”, “12-04 20:00” or “20:00” (time zone { $tz }).
sale-ask-end = 7/8 · When does it end? A time like “tomorrow 10pm” or “12-04 22:00”, or a duration like “2h”, “90m”, “1d” (time zone { $tz }).
sale-ask-targets = 8/8 · Where should it be posted? Tap to choose, then Done.
btn-sale-skip = ⏭ Skip
btn-sale-cancel = ✖️ Cancel
btn-sale-done = ✔️ Done
btn-sale-publish = 🚀 Publish
btn-sale-override = ⚠️ Publish anyway
btn-sale-edit-text = ✏️ Edit text
sale-preview-title = 👀 Preview: the start post will look like this.
sale-schedule-title = 🗓 Schedule ({ $tz }):
sale-schedule-line = • { $time } · { $stage } · { $chats }
sale-guard-clean = ✅ The copy guard found nothing. Publish?
sale-guard-hits = ⚠️ The copy guard found words that advertising law forbids ({ $words }):
    { $text }
    Edit the text, or publish anyway (this is logged).
sale-guard-blocked = The copy guard found forbidden words: edit the text or publish anyway.
sale-guard-edit = ⚠️ The copy guard found words that advertising law forbids ({ $words }):
    { $text }
    Send another text, or /cancel.
sale-published = 🗓 Sale #{ $id } “{ $product }” is scheduled; it starts { $start }. /sales lists your sales.
sale-dialogue-cancelled = Cancelled. Nothing was saved.
sale-dialogue-expired = This dialogue is over. Start again with /sale.
sale-need-text = Please send text.
sale-need-photo = Please send a photo, or tap Skip.
sale-finish-first = You're planning a sale: answer the question above, or leave with /cancel.
sale-use-buttons = Please use the buttons above, or leave with /cancel.
sale-choose-target = Choose at least one chat.

## /sales
sales-none = No scheduled or running sales. Plan one with /sale.
sales-title = 🗓 Sales:
sales-line = #{ $id } <b>{ $product }</b> · { $phase } · { $start } – { $end } · { $chats }
sale-phase-scheduled = scheduled
sale-phase-live = live
sale-phase-ended = ended
sale-phase-cancelled = cancelled
btn-sale-edit = ✏️ Edit #{ $id }
btn-sale-cancel-sale = ✖️ Cancel #{ $id }
sale-edit-choose = What do you want to change in sale #{ $id } “{ $product }”?
sale-field-product = Product
sale-field-price = Prices
sale-field-stock = Stock
sale-field-url = Link
sale-field-start = Start
sale-field-end = End
sale-edited = ✅ Sale #{ $id } changed. Posts not yet made will show the new values.
sale-cancel-confirm = Cancel sale #{ $id } “{ $product }”? Posts not yet made are dropped; a start post already made is marked cancelled.
btn-sale-cancel-yes = Yes, cancel it
btn-sale-keep = No, keep it
sale-cancelled-done = Sale #{ $id } “{ $product }” is cancelled.
sale-post-line = • { $time } · { $stage } · { $chat } · { $status }
sale-post-pending = planned
sale-post-queued = sending
sale-post-sent = sent
sale-post-skipped = skipped
sale-post-cancelled = cancelled

## Refusals
sale-err-product-empty = The product name can't be empty.
sale-err-product-long = The product name is { $length } characters long; at most { $limit } fit.
sale-err-price = Send the sale price, and optionally the original price after it, e.g. “99 199”.
sale-err-price-long = A price can be at most { $limit } characters long.
sale-err-price-large = A price can be at most ¥{ $limit }: check the number.
sale-err-stock = Send a whole number from 1 to { $limit }, or Skip.
sale-err-url = That is not a link: send one starting with http:// or https://, or Skip.
sale-err-time = I can't read that time: use e.g. “tomorrow 8pm”, “fri 20:00”, “明晚8点”, “12-04 20:00” or “20:00”.
sale-err-time-ambiguous = Is that in the morning or the evening? Say e.g. “tomorrow 8am” or “tomorrow 8pm”, or use the 24-hour clock: “20:00”.
sale-err-start-past = That time has already passed: choose a start in the future.
sale-err-end-past = That end has already passed.
sale-err-too-far = That is more than a year ahead.
sale-err-too-long = A sale can last at most { $days } days.
sale-err-end-before-start = The end must come after the start.
sale-err-no-target = Choose at least one chat.
sale-err-target = That chat is not one the bot posts sales to.
sale-err-unknown = There is no sale #{ $id }.
sale-err-field = The field { $field } can't be changed.
sale-err-over = Sale #{ $id } is over or cancelled: it can't be changed.
sale-err-started = The sale has started: its start can't move any more (the end still can).
