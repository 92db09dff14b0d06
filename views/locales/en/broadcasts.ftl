# Broadcasts: what subscribers see, the manager's dialogue, progress and report.
bc-footer = <i>Don't want these messages? /unsubscribe</i>
bc-btn-claim = 🎁 Claim your coupon
bc-btn-cancel = ⛔ Cancel the broadcast
bc-progress-title = 📣 Broadcast #{ $id }: sending…
bc-progress-counts = ✅ sent { $sent } · ❌ failed { $failed } · 🚫 blocked { $blocked } · ⏳ left { $left }
bc-progress-eta = ETA about { $time }
bc-report-done = 📣 Broadcast #{ $id } finished.
bc-report-cancelled = ⛔ Broadcast #{ $id } was cancelled.
bc-report-counts = Recipients: { $total } · sent { $sent } · failed { $failed } · blocked the bot { $blocked } · unknown (interrupted) { $unknown } · not sent (cancelled) { $cancelled } · skipped for the daily cap { $capped }
bc-report-duration = Duration: { $time }

subscribe-done = 🔔 You're subscribed again: you'll hear about our offers. /unsubscribe stops them any time.
subscribe-already = 🔔 You're already subscribed to our offers.
unsubscribe-done = 🔕 Done: no more offers from us. Your coupons and support stay as they are. /subscribe brings them back.
unsubscribe-already = 🔕 You're already unsubscribed. /subscribe if you change your mind.

bc-ask-message = 📣 New broadcast. Send the message as subscribers should see it: text with formatting, or a photo with a caption. /cancel stops.
bc-not-a-message = Please send text, or one photo with a caption. /cancel stops the broadcast.
bc-looks-like-command = That looks like a command. Send the message text, or /cancel to stop.
bc-too-long = That's too long: at most { $limit } characters fit (yours has { $length }). Please shorten it.
bc-ask-buttons = Optional link buttons, one a line, like:
    Shop now - https://shop.example/sale
    or tap Skip.
bc-bad-buttons = I couldn't read line “{ $line }”. Write “Label - https://…”, one button a line (at most { $max }), or tap Skip.
bc-ask-coupon = Attach a coupon? Send its discount (e.g. “¥20 off orders over ¥199”, valid 14 days, one per recipient), or tap Skip.
bc-coupon-too-long = The discount text is too long (at most { $limit } characters).
bc-segment-title = 👥 Who gets it? Tap to combine filters.
bc-segment-filters = Filters: { $filters }
bc-segment-count = Recipients now: { $count }
bc-seg-all = all subscribers
bc-seg-new = new (joined the group or first seen ≤ 7 days)
bc-seg-active = active (seen ≤ 7 days)
bc-seg-dormant = dormant (not seen ≥ 30 days)
bc-seg-tier = tier ≥ { $tier }
bc-seg-streak = check-in streak ≥ { $days }
bc-seg-language = language { $language }
bc-seg-high-value = high value (last order ≤ { $recent } days ago; ≥ { $orders } orders and ≥ { $spend } { $currency } in { $window } days)
bc-seg-at-risk = at risk (≥ { $orders } orders and ≥ { $spend } { $currency } in { $window } days, none in the last { $recent } days)
bc-seg-sleeping = sleeping buyers (last order ≥ { $sleeping } days ago; < { $orders } orders and < { $spend } { $currency } in { $window } days)
bc-btn-skip = Skip ➡️
bc-btn-new = New
bc-btn-active = Active
bc-btn-dormant = Dormant
bc-btn-high-value = 💎 High value
bc-btn-at-risk = ⚠️ At risk
bc-btn-sleeping = 💤 Sleeping
bc-btn-language = { $language }
bc-btn-tier = ≥ { $tier }
bc-btn-streak = Streak ≥ { $days }
bc-btn-preview = 👀 Preview
bc-btn-abort = ✖ Cancel
bc-btn-send = 🚀 Send
bc-btn-send-anyway = ⚠️ Send anyway
bc-btn-edit = ✏️ Edit the text
bc-btn-reset = All subscribers
bc-nobody = Nobody matches these filters. Change them before the preview.
bc-preview-title = 👀 The message above is what subscribers will see.
bc-preview-summary = It goes to { $count } subscriber(s).
bc-preview-coupon = 🎁 With a coupon: { $discount } (valid 14 days).
bc-guard-hits = ⚠️ The copy guard found words that advertising law forbids (marked):
bc-guard-ok = ✅ The copy guard found nothing to object to.
bc-started = 📣 Broadcast #{ $id }: { $total } recipient(s) queued, { $capped } skipped for the daily cap.
bc-quiet = 🌙 It's quiet hours: sending starts at { $time }.
bc-nothing-queued = Nobody could be queued (everyone reached the daily cap): broadcast #{ $id } is over.
bc-dialogue-over = This dialogue is over. Start again with /broadcast.
bc-dialogue-cancelled = Broadcast discarded.
bc-cancel-confirm = Stop broadcast #{ $id }? Messages already sent stay sent.
bc-btn-cancel-yes = ⛔ Yes, stop it
bc-btn-cancel-no = Keep sending
bc-cancel-done = ⛔ Broadcast #{ $id } stopped. The report follows.
bc-cancel-too-late = Broadcast #{ $id } has already finished.
bc-kept = Broadcast #{ $id } keeps going.
bc-list-empty = No broadcasts yet. Start one with /broadcast.
bc-list-title = 📣 Recent broadcasts
bc-list-line = #{ $id } · { $date } · { $status ->
        [draft] draft
        [sending] sending
        [done] done
        [cancelled] cancelled
       *[other] { $status }
    } · sent { $sent } / { $total } · { $text }
bc-not-allowed = Only the shop's admins can do that.
bc-coupon-title = Broadcast coupon
bc-coupon-failed = The coupon could not be created: { $reason }
bc-error = The broadcast could not be created: { $reason }
bc-why-no-content = it has neither a text nor a photo.
bc-why-too-many-buttons = at most { $limit } link buttons fit.
bc-why-bad-button = every button needs a label and an http(s):// or tg:// link.
bc-why-coupon-too-large = one coupon holds at most { $limit } codes, one per recipient. Narrow the filters, or send it without a coupon.
bc-why-coupon-not-stored = its codes could not be stored. Please try again.
bc-why-unknown = please start again with /broadcast.
bc-button-invalid = This button isn't valid. /broadcasts lists the recent broadcasts.
bc-use-buttons = Please use the buttons above, or /cancel to stop.
