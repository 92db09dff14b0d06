unanswered-none = No unanswered questions in the last 7 days. 🎉
unanswered-title = Most asked questions the FAQ could not answer (last 7 days, top { $count }):
unanswered-line = • { $times }× { $question } (closest entry: { $guess })
unanswered-footer = All of them as CSV: python main.py faq unanswered --out gaps.csv
admin-private-only = This command works in a private chat with me.
