unanswered-none = 最近 7 天没有未能回答的问题。🎉
unanswered-title = FAQ 未能回答、被问得最多的问题（最近 7 天，前 { $count } 条）：
unanswered-line = • { $times } 次：{ $question }（最接近的条目：{ $guess }）
unanswered-footer = 导出全部为 CSV：python main.py faq unanswered --out gaps.csv
admin-private-only = 请在与我的私聊中使用这个命令。
