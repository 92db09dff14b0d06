unanswered-none = 最近 7 天没有未能回答的问题。🎉
unanswered-footer = 导出全部为 CSV：python main.py faq unanswered --out gaps.csv
admin-private-only = 请在与我的私聊中使用这个命令。

admin-stats-usage = 用法：/stats（客服与社群）、/stats support、/stats community 或 /stats campaigns
community-stats-title = 👥 社群
community-stats-standing = 成员 { $members } · 连续签到中 { $streaks } 人（最长 { $longest } 天，中位数 { $median }）
community-stats-tiers = 等级：{ $tiers }
community-stats-block = 签到 { $checkins } 次（{ $checkers } 人）· 发放积分 { $issued }，消耗 { $spent }
    领取优惠券 { $claimed } · 已在店内使用 { $redeemed }
