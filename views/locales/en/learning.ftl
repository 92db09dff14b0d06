# Teaching the FAQ from the desk (a ticket's close) and from /unanswered (admins' triage).
learn-offer = 📚 Teach the FAQ. The customer asked:
    «{ $question }»
    Tap the entry that answers it: the next customer who asks this way gets that answer.
learn-offer-no-guess = 📚 Teach the FAQ. The customer asked:
    «{ $question }»
    No FAQ entry comes close.
learn-btn-new = 🆕 New entry from my reply
learn-learned = ✅ Learned: «{ $question }» now gets the answer of “{ $entry }” ({ $id }), from the next customer on.
learn-created = ✅ New FAQ entry { $id }: «{ $question }» now gets your reply as its answer. To keep it in the FAQ file: python main.py faq export --out faq.yaml
learn-already = «{ $question }» is already in “{ $entry }” ({ $id }).
learn-already-created = This ticket already made an FAQ entry ({ $id }).
learn-no-entry = That FAQ entry no longer exists: choose another one.
learn-no-language = “{ $entry }” ({ $id }) has no { $language } answer yet: add one to the FAQ file first.
learn-not-found = That ticket or question no longer exists.
learn-not-closed = Close the ticket first: lessons come from finished conversations.
learn-triaged = This question was already dealt with.
learn-no-question = The customer asked nothing in words in this ticket: nothing to learn.
learn-no-reply = No reply in words from an agent in this ticket: answer the customer first.
learn-no-desk = The support desk is off (SUPPORT_CHAT_ID is not set): nobody to hand it to.
learn-handed = 🙋 «{ $question }» went to the support desk as ticket #{ $id }. When the agent closes it, they can make an FAQ entry of their answer.
learn-ignored = 🙈 Ignored: «{ $question }» leaves the list.
learn-stale-button = This button no longer works. Send /unanswered again, or close the ticket again for a new offer.
learn-handed-note = 📚 An admin asks you to answer this question of the customer: «{ $question }»
learn-handed-customer = You asked us earlier: «{ $question }». A colleague will answer you here shortly.

triage-title = 📚 Questions the FAQ could not answer (last 7 days): { $total }. Here { $first }–{ $last }, most asked first. For each: tap the entry that answers it, ignore it, or hand it to an agent.
triage-item = { $times }× «{ $question }» · { $customers } customer(s) · { $language }
triage-no-guess = No FAQ entry comes close: hand it to an agent, who can make one of their answer.
triage-btn-ignore = 🙈 Ignore
triage-btn-hand = 🙋 Hand to an agent
triage-btn-more = More questions ▶
