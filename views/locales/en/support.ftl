# Texts for agents in the support group (SUPPORT_LANGUAGE).

card-title = { $icon } Ticket #{ $id } · { $state }
card-customer = 👤 { $name }{ $username } · id { $user_id } · { $language }
card-reason = Asked for a person by: { $reason }
card-question = ❓ { $question }
card-complaint = ⚠️ Complaint: the customer complained
card-bot-answered = 🤖 Bot answered:
card-faq-line = • “{ $question }” → { $answer }
card-bot-missed = ❔ Bot could not answer:
card-faq-missed-line = • “{ $question }”
card-orders = 📦 Orders mentioned: { $orders }
card-vip = ⭐ VIP: this ticket goes before the others
card-tier = 🏅 Tier: { $tier }
card-shop-orders = 🧾 Last orders:
card-shop-order = • #{ $order } · { $status } · { $amount } · { $date }
card-previous = 🗂 Previous tickets: { $count }{ $csat }
card-previous-csat = , average rating { $avg }★
card-assignee = 🧑‍💼 Agent: { $agent }
card-unassigned = 🧑‍💼 Not taken yet
card-out-of-hours = 🌙 Opened out of hours
card-blocked = ⛔ The customer has blocked the bot
card-breached = 🔥 First-response target missed
card-reopened = 🔁 Reopened { $count } time(s)
card-help = Write here to answer the customer. !text or /note text: a private note. /c key: a canned reply. /close, /transfer, /history.
card-help-reply = Reply to this card (or to any of the customer's messages) to answer. !text: a private note.
btn-take = 🙋 Take
btn-close = ✅ Close
btn-transfer = 🔀 Transfer
btn-transfer-queue = ↩ Back to the queue
state-new = new
state-assigned = taken
state-waiting = waiting for us
state-answered = answered
state-closed = closed
topic-name = { $icon } { $name } · #{ $id }
ticket-taken = Ticket #{ $id } is yours.
ticket-already-taken = { $agent } has already taken this ticket.
ticket-is-closed = This ticket is closed.
ticket-not-found = I can't find that ticket.
ticket-transferred = 🔀 Ticket transferred { $to_queue ->
    [yes] back to the queue.
   *[no] to { $agent } { $mention }.
}
transfer-choose = Transfer ticket #{ $id } to:
transfer-nobody = No other agent is online. Send /transfer queue to put the ticket back in the queue.
transfer-bad-target = “{ $given }” is not an agent: name them as @username or by their Telegram id (digits only, like 123456789), or send /transfer queue.
transfer-unknown-agent = I don't know an agent { $target } yet: agents are known once they have written in this group or sent /online.
ticket-closed-note = ✅ Closed by { $agent }.
ticket-closed-by-customer = ✅ The customer ended the conversation.
ticket-reopened-note = 🔁 The customer wrote again: ticket reopened.
agent-ticket-closed = This ticket is closed, so nothing was sent. Use /reopen to reopen it and send again.
agent-ticket-reopened = 🔁 Ticket #{ $id } reopened.
agent-no-ticket = This topic has no ticket. Messages here are not sent to anyone.
note-usage = Write the note after the command: /note text (or start a message with !).
note-saved = 📝 Note saved.
canned-added = Canned reply “{ $code }” saved ({ $language }).
canned-removed = Canned reply “{ $code }” removed.
canned-missing = There's no canned reply “{ $code }”. Send /canned list to see them.
canned-missing-var = This reply needs { $names }, which this ticket doesn't have. Nothing was sent.
canned-no-shop-name = This reply uses {"{"}shop{"}"}, but the shop's name is not set: set SHOP_NAME in the bot's settings and restart it. Nothing was sent.
canned-unknown-var = Unknown variable { $names }. You can use {"{"}name{"}"}, {"{"}order{"}"}, {"{"}agent{"}"}, {"{"}ticket{"}"}, {"{"}shop{"}"}.
canned-list = Canned replies:
canned-line = • { $code } ({ $language }): { $text }
canned-none = No canned replies yet. Admins add them with /canned add key [zh|en] text
canned-usage = Usage: /canned add key [zh|en] text · /canned remove key · /canned list
canned-bad-key = “{ $code }” can't be a key: use 1-32 characters: a-z, 0-9, _ or -.
canned-admins-only = Only admins can change canned replies.
canned-choose = Choose a canned reply:
canned-sent = 📤 Sent: { $text }
sla-alert = ⏰ The customer has waited { $minutes } min without an answer (alert { $level }). { $mentions }
customer-blocked = ⛔ The customer has blocked the bot: messages can't reach them. The ticket stays open until you close it.
customer-back = ✅ The customer unblocked the bot.
relay-failed = ⚠️ A message could not be delivered: { $error }
relay-edited-mark = ✏️ edited
relay-unavailable = [{ $kind }] (no longer available)
history-title = 🗂 Conversation so far (the topic was re-created):
history-line = { $time } { $who }: { $text }
history-customer = customer
history-agent = agent
history-note = note
history-empty = (no messages yet)
history-tickets = 🗂 Tickets of this customer:
history-ticket-line = #{ $id } · { $opened } · { $state }{ $rating }
agent-online = 🟢 { $name } is online.
agent-offline = ⚪ { $name } is offline.
csat-received = ⭐ The customer rated this conversation { $score }/5.
csat-comment = 💬 Customer's comment: { $comment }
desk-stale-button = This button no longer works. Use the buttons on the ticket's card, or the commands in its topic.
desk-command-here = Use this command inside a customer's topic (or as a reply to their message).
stats-title = 📊 Support desk
stats-window-today = Today
stats-window-7d = Last 7 days
stats-window-30d = Last 30 days
stats-block = Opened { $opened } · closed { $closed }
    First response p50 { $frt50 } · p90 { $frt90 }
    Resolution p50 { $res50 }
    SLA hit { $sla } · CSAT { $csat } ({ $rated }/{ $asked } rated)
    Handoff rate { $handoff }
stats-agent = • { $name }: { $first } first responses (p50 { $frt50 }), { $closed } closed, CSAT { $csat }
stats-after-sales = ↩️ After-sales: opened { $opened } · approved { $approved } · rejected { $rejected } · refunded or exchanged { $refunded } ({ $exchanges } exchanges)
    Resolution p50 { $res50 } · resolved { $rate } of those opened (target { $target })
stats-none = —
stats-usage = Usage: /stats support, or /stats campaigns
cmd-desk-c = Send a canned reply: /c key (no key: choose)
cmd-desk-note = Private note (not sent to the customer)
cmd-desk-take = Take this ticket
cmd-desk-close = Close the ticket: /close [note]
cmd-desk-transfer = Transfer: /transfer [@agent | queue]
cmd-desk-reopen = Reopen a closed ticket
cmd-desk-history = This customer's tickets
cmd-desk-online = I'm available for tickets
cmd-desk-offline = I'm away
cmd-desk-canned = Canned replies: list, add, remove (admins)

## The queue board (one message in the group, edited in place)
board-title = 📋 Waiting for an agent, no topic yet: { $count }
board-line = { $icon }#{ $id } { $name } · { $language }{ $tier } · since { $since } · { $words }
board-more = …and { $count } more: they appear here as others are taken.
board-empty = 📋 Nobody is waiting without a topic.
board-help = Tap a ticket to take it: its topic and card open next, with what the customer wrote so far.
btn-board-take = 🙋 #{ $id } { $name }
