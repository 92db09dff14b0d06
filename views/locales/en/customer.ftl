start-greeting = Hi { $name }! 👋 I'm the shop's assistant.
    Ask me anything about sizes, shipping, returns or your order — in English or Chinese. If I can't help, I'll bring in a person.
help-text = How I can help:
    • Type your question, e.g. "170cm 65kg what size?" or "how do I return this?"
    • Use the menu buttons below for common topics.
    • /human — talk to a person
    • /return — return or exchange an order · /return status — your requests
    • /checkin — daily points · /me — points, tier, streak · /top — leaderboard
    • /mycoupons — your coupons · /shop — coupons for points
    • /language — 中文 / English
    • /help — this message
menu-size = 📏 Size
menu-shipping = 🚚 Shipping
menu-returns = ↩️ Returns
menu-orders = 📦 My orders
menu-human = 🙋 Talk to a human
menu-language = 🌐 Language
menu-placeholder = Type your question…
menu-topic-missing = This topic isn't in our FAQ yet. Type your question, or tap "Talk to a human".

language-choose = Choose your language:
language-set = OK, I'll speak English from now on.

btn-helpful = 👍 Helpful
btn-not-helpful = 👎 Not helpful
btn-human = 🙋 Talk to a human
btn-none-of-these = None of these

size-advice-clothing = { $note ->
        [between] Based on { $measures }, we suggest size { $size } (your height and weight point to different sizes; the larger one is usually more comfortable).
        [above_range] Based on { $measures }, you're above our chart, so the largest size { $size } may be tight. A person can help you check: tap "Talk to a human".
        [below_range] Based on { $measures }, you're below our chart, so the smallest size { $size } may be loose.
       *[fits] Based on { $measures }, we suggest size { $size }.
    }
size-advice-shoes = { $note ->
        [above_range] For a { $foot } cm foot you're above our chart; our largest shoe size is EU { $size }.
        [below_range] For a { $foot } cm foot you're below our chart; our smallest shoe size is EU { $size }.
       *[other] For a { $foot } cm foot we suggest EU size { $size }.
    }
size-measure-height = { $value } cm
size-measure-weight = { $value } kg
size-advice-footer = Sizes differ a little by style: check the size chart on the product page.

clarify-intro = I'm not quite sure what you mean. Is it one of these?
no-match = Sorry, I don't have a good answer to that yet. I've saved your question for the team. You can rephrase it, or talk to a person.
smalltalk-greeting = Hello! 👋 How can I help? Type your question, or pick a topic below.
smalltalk-thanks = You're welcome! 😊 If there's anything else, just ask.
smalltalk-goodbye = 👌 I'm here whenever you need me.
complaint-received = I'm sorry about this. I've passed it to our team as a complaint.
empty-text = I can only read words 🙂 Please type your question, for example "how long does shipping take?"
too-long = That message is very long. Please ask one question in a few sentences, and I'll do my best.
non-text = Thanks! I can only read text messages for now. Please type your question, or tap "Talk to a human" and a person will look at it.
unknown-command = I don't know that command. Send /help to see what I can do.
stale-button = This button is no longer valid. Please ask your question again.

feedback-thanks = Thanks for the feedback! 🙏
feedback-sorry-alternatives = Sorry that didn't help. Did you mean one of these?
feedback-sorry-human = Sorry that didn't help. Would you like to talk to a person?
feedback-already = You've already rated this answer. Thanks!

human-recorded = I've passed your request to our team (request #{ $id }). Live chat with a person isn't switched on in this bot yet, so a reply may take a while; your question is saved with the request.
human-already = Your request #{ $id } is already with our team; your question is saved with it. You can keep asking me in the meantime.
human-after-misses = I'm sorry I couldn't answer that twice in a row. I've asked our team to help you (request #{ $id }). Live chat with a person isn't switched on in this bot yet, so a reply may take a while.

flood-notice = You're sending messages very quickly. I'll read your messages again in a moment — please wait a little.
error-generic = Sorry, something went wrong on our side. Please try again in a moment.

cmd-start = Start and show the menu
cmd-help = What I can do
cmd-human = Talk to a person
cmd-language = 中文 / English

ticket-opened = A person will answer you here. You're #{ $position } in line; the usual wait is about { $minutes } min. Keep writing: our team sees everything you send.
ticket-opened-no-eta = A person will answer you here soon. You're #{ $position } in line. Keep writing: our team sees everything you send.
ticket-with-agent = You're connected to our team; they'll reply here. Keep writing: they see everything you send.
ticket-already-open = You're already talking to our team (conversation #{ $id }). Just write here.
ticket-out-of-hours = We're closed right now; a person will answer from { $opens }. Leave your message here; nothing gets lost.
ticket-reopened = Welcome back! I've reopened your last conversation with our team.
ticket-after-misses = I'm sorry I couldn't answer that.
ticket-closed-by-agent = Our team has closed this conversation. How did we do?
ticket-closed-by-you = Conversation closed. How did we do?
ticket-close-already = This conversation is already closed.
ticket-new-after-close = I've started a new conversation with our team for you.
btn-close-ticket = ✅ End conversation
csat-thanks = Thank you for rating us! Anything you'd like to add? Just write it here (optional).
btn-csat-skip = Skip
csat-comment-thanks = Thank you, we've passed it on to the team.
csat-already = You've already rated this conversation. Thank you!
csat-skipped = No problem. Thanks for chatting with us!
